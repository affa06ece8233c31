// The pure core of explanations: config diff, tar entry diff, layer pairing, rendering; and the tar
// reader on archives written by GNU tar (pax and GNU long-name formats) and by the sandbox builder.
import { mkdtemp, mkdir, rm, symlink, utimes, writeFile, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Explanation,
  type ImageConfig,
  type LayerChange,
  type TarEntry,
  diffConfigs,
  diffEntries,
  pairLayers,
  reorderedLayers,
  whiteoutOf,
  readTar,
  renderExplanationMarkdown,
  summarizeExplanation,
} from "../../src/explain/index.js";
import { findingsOf } from "../../src/explain/findings.js";
import { tar } from "../helpers/oci.js";

const configA: ImageConfig = {
  created: "2026-11-20T10:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_VERSION=1.4.2"],
    Labels: {
      "org.opencontainers.image.revision": "1111111",
      "org.opencontainers.image.source": "https://github.com/acme/platform",
    },
    Entrypoint: ["/app/banana"],
    Cmd: ["serve"],
    WorkingDir: "/app",
    User: "65532",
    ExposedPorts: { "8080/tcp": {} },
  },
  rootfs: { type: "layers", diff_ids: ["sha256:" + "a".repeat(64), "sha256:" + "b".repeat(64)] },
  history: [
    { created: "2026-11-01T00:00:00Z", created_by: "ADD rootfs.tar.gz / # buildkit" },
    { created: "2026-11-20T10:00:00Z", created_by: "COPY /out/banana /app/banana # buildkit" },
  ],
};
const configB: ImageConfig = {
  ...configA,
  created: "2026-11-26T12:00:00Z",
  config: {
    ...configA.config,
    Env: [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "APP_VERSION=1.4.2",
      "BUILD_HOST=ci-7",
    ],
    Labels: {
      "org.opencontainers.image.revision": "2222222",
      "org.opencontainers.image.source": "https://github.com/acme/platform",
    },
    Cmd: ["serve", "--verbose"],
  },
  rootfs: {
    type: "layers",
    diff_ids: ["sha256:" + "a".repeat(64), "sha256:" + "c".repeat(64), "sha256:" + "d".repeat(64)],
  },
  history: [
    ...configA.history!,
    { created: "2026-11-26T12:00:00Z", created_by: "RUN apt-get update # buildkit" },
  ],
};

const entry = (over: Partial<TarEntry> & { path: string }): TarEntry => ({
  type: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  uname: "root",
  gname: "root",
  mtime: 1_764_000_000,
  size: 5,
  linkname: "",
  sha256: "sha256:" + "1".repeat(64),
  ...over,
});

describe("diffConfigs", () => {
  it("lists created, env, labels, cmd, layer and history counts in a fixed order", () => {
    expect(diffConfigs(configA, configB)).toMatchInlineSnapshot(`
      [
        {
          "after": "2026-11-26T12:00:00Z",
          "before": "2026-11-20T10:00:00Z",
          "field": "created",
        },
        {
          "after": "ci-7",
          "field": "env BUILD_HOST",
        },
        {
          "after": "2222222",
          "before": "1111111",
          "field": "label org.opencontainers.image.revision",
        },
        {
          "after": "["serve","--verbose"]",
          "before": "["serve"]",
          "field": "cmd",
        },
        {
          "after": "3",
          "before": "2",
          "field": "layers",
        },
        {
          "after": "3",
          "before": "2",
          "field": "history entries",
        },
      ]
    `);
  });
  it("is empty for the same config", () => {
    expect(diffConfigs(configA, structuredClone(configA))).toEqual([]);
  });
});

describe("diffEntries", () => {
  it("names metadata-only changes, and content, type and link changes", () => {
    const a = [
      entry({ path: "app/banana" }),
      entry({ path: "app/config.yml" }),
      entry({ path: "app/run.sh" }),
      entry({ path: "etc/passwd" }),
      entry({ path: "usr/lib/libfoo.so", type: "symlink", size: 0, sha256: "", linkname: "libfoo.so.1" }),
      entry({ path: "var/log", type: "dir", size: 0, sha256: "" }),
      entry({ path: "tmp/old" }),
    ];
    const b = [
      entry({ path: "app/banana", mtime: 1_764_158_400 }),
      entry({ path: "app/config.yml", sha256: "sha256:" + "2".repeat(64), size: 7, mtime: 1_764_158_400 }),
      entry({ path: "app/run.sh", mode: 0o755 }),
      entry({ path: "etc/passwd", uid: 1000, gid: 1000, uname: "ci", gname: "ci" }),
      entry({ path: "usr/lib/libfoo.so", type: "symlink", size: 0, sha256: "", linkname: "libfoo.so.2" }),
      entry({ path: "var/log" }),
      entry({ path: "tmp/new" }),
    ];
    expect(diffEntries(a, b)).toMatchInlineSnapshot(`
      {
        "changes": [
          {
            "aspects": [
              "mtime",
            ],
            "details": {
              "mtime": "2025-11-24T16:00:00Z → 2025-11-26T12:00:00Z",
            },
            "kind": "changed",
            "path": "app/banana",
          },
          {
            "aspects": [
              "content",
              "mtime",
            ],
            "details": {
              "content": "5 B 111111111111 → 7 B 222222222222",
              "mtime": "2025-11-24T16:00:00Z → 2025-11-26T12:00:00Z",
            },
            "kind": "changed",
            "path": "app/config.yml",
          },
          {
            "aspects": [
              "mode",
            ],
            "details": {
              "mode": "0644 → 0755",
            },
            "kind": "changed",
            "path": "app/run.sh",
          },
          {
            "aspects": [
              "owner",
            ],
            "details": {
              "owner": "0:0 (root:root) → 1000:1000 (ci:ci)",
            },
            "kind": "changed",
            "path": "etc/passwd",
          },
          {
            "kind": "added",
            "path": "tmp/new",
          },
          {
            "kind": "removed",
            "path": "tmp/old",
          },
          {
            "aspects": [
              "link",
            ],
            "details": {
              "link": "libfoo.so.1 → libfoo.so.2",
            },
            "kind": "changed",
            "path": "usr/lib/libfoo.so",
          },
          {
            "aspects": [
              "type",
            ],
            "details": {
              "type": "dir → file",
            },
            "kind": "changed",
            "path": "var/log",
          },
        ],
        "order": "same",
        "unchanged": 0,
      }
    `);
  });
  it("counts identical entries; a path repeated in one layer counts by its last entry", () => {
    const a = [entry({ path: "x", mtime: 1 }), entry({ path: "x" }), entry({ path: "y" })];
    expect(diffEntries(a, [entry({ path: "x" }), entry({ path: "y" })])).toEqual({
      changes: [],
      unchanged: 2,
      order: "same",
    });
  });

  it("tells entries written in another order; paths only one side has do not count", () => {
    const x = entry({ path: "x" });
    const y = entry({ path: "y" });
    const z = entry({ path: "z" });
    expect(diffEntries([x, y], [y, x])).toMatchObject({ changes: [], unchanged: 2, order: "differs" });
    expect(diffEntries([x, z, y], [x, y])).toMatchObject({ unchanged: 2, order: "same" });
  });

  it("marks whiteouts with what they delete or hide", () => {
    expect(whiteoutOf("etc/.wh.os-release")).toEqual({ kind: "file", target: "etc/os-release" });
    expect(whiteoutOf(".wh.top")).toEqual({ kind: "file", target: "top" });
    expect(whiteoutOf("var/cache/.wh..wh..opq")).toEqual({ kind: "opaque", target: "var/cache" });
    expect(whiteoutOf(".wh..wh..opq")).toEqual({ kind: "opaque", target: "/" });
    expect(whiteoutOf("etc/.whatever")).toBeNull();
    expect(whiteoutOf("etc/.wh.")).toBeNull();
    const { changes } = diffEntries([], [entry({ path: "a/.wh.b", size: 0 })]);
    expect(changes).toEqual([{ path: "a/.wh.b", kind: "added", whiteout: { kind: "file", target: "a/b" } }]);
  });
});

describe("reorderedLayers", () => {
  it("lists shared layers stacked in another order; added or removed layers around them are no reorder", () => {
    expect(reorderedLayers(["a", "b", "c"], ["c", "a", "b"])).toEqual([
      { diffId: "a", a: 0, b: 1 },
      { diffId: "b", a: 1, b: 2 },
      { diffId: "c", a: 2, b: 0 },
    ]);
    expect(reorderedLayers(["a", "b"], ["x", "a", "b", "y"])).toEqual([]);
    expect(reorderedLayers(["a", "b", "c"], ["a", "c"])).toEqual([]);
    expect(reorderedLayers(["a", "b", "c"], ["b", "a", "x"])).toEqual([
      { diffId: "a", a: 0, b: 1 },
      { diffId: "b", a: 1, b: 0 },
    ]);
  });
});

describe("findingsOf", () => {
  const layer = (index: number, diffId: string) => ({ index, diffId, digest: diffId, size: 10 });
  const platform = (change: Partial<LayerChange>) => ({
    platform: "",
    manifests: { a: "sha256:m1", b: "sha256:m2" },
    configs: { a: "sha256:c1", b: "sha256:c2" },
    config: [],
    layers: {
      shared: 1,
      changes: [{ a: layer(1, "sha256:l1"), b: layer(1, "sha256:l2"), ...change }],
    },
  });

  it("same files in the same order but other tar bytes: tar encoding", () => {
    const found = findingsOf(platform({ files: [], unchangedFiles: 3, entryOrder: "same" }));
    expect(found.map((f) => f.level)).toEqual(["tar-encoding"]);
  });

  it("an uninspected layer is not taken for the same files", () => {
    const found = findingsOf(platform({ note: "too large: not inspected" }));
    expect(found.map((f) => f.level)).toEqual(["content"]);
  });

  it("a whiteout next to a real file change is content, not whiteouts", () => {
    const found = findingsOf(
      platform({
        files: [
          { path: "etc/.wh.x", kind: "added", whiteout: { kind: "file", target: "etc/x" } },
          { path: "etc/y", kind: "added" },
        ],
      }),
    );
    expect(found.map((f) => f.level)).toEqual(["content"]);
  });

  it("a whiteout removed: the layer no longer deletes the path", () => {
    const found = findingsOf(
      platform({
        files: [{ path: "etc/.wh.x", kind: "removed", whiteout: { kind: "file", target: "etc/x" } }],
      }),
    );
    expect(found.map((f) => f.what)).toEqual([
      "the layers differ only in whiteouts: no longer deletes etc/x",
    ]);
  });
});

describe("pairLayers", () => {
  it("shares diff_ids wherever they sit and pairs the rest in order", () => {
    expect(pairLayers(["a", "b", "c"], ["a", "x", "c", "y"])).toEqual({
      shared: 2,
      pairs: [
        [1, 1],
        [null, 3],
      ],
    });
    expect(pairLayers(["a", "b"], ["b"])).toEqual({ shared: 1, pairs: [[0, null]] });
  });
});

describe("rendering", () => {
  const explanation: Explanation = {
    a: { ref: "ghcr.io/acme/platform/banana:1111111", digest: "sha256:" + "e".repeat(64) },
    b: { ref: "ghcr.io/acme/platform/banana:2222222", digest: "sha256:" + "f".repeat(64) },
    identical: false,
    platformsOnlyInA: [],
    platformsOnlyInB: ["linux/arm64"],
    platforms: [
      {
        platform: "linux/amd64",
        manifests: { a: "sha256:" + "3".repeat(64), b: "sha256:" + "4".repeat(64) },
        configs: { a: "sha256:" + "5".repeat(64), b: "sha256:" + "6".repeat(64) },
        config: diffConfigs(configA, configB).slice(0, 3),
        layers: {
          shared: 1,
          changes: [
            {
              a: {
                index: 1,
                diffId: configA.rootfs!.diff_ids![1]!,
                digest: "sha256:" + "7".repeat(64),
                size: 900,
              },
              b: {
                index: 1,
                diffId: configB.rootfs!.diff_ids![1]!,
                digest: "sha256:" + "8".repeat(64),
                size: 901,
              },
              ...(() => {
                const d = diffEntries(
                  [entry({ path: "app/banana" }), entry({ path: "app/a|b" })],
                  [entry({ path: "app/banana", mtime: 0 }), entry({ path: "app/a|b", mode: 0o600 })],
                );
                return { files: d.changes, unchangedFiles: d.unchanged };
              })(),
            },
            {
              a: null,
              b: {
                index: 2,
                diffId: configB.rootfs!.diff_ids![2]!,
                digest: "sha256:" + "9".repeat(64),
                size: 300 << 20,
              },
              note: "too large: not inspected (300.0 MiB compressed, 255.9 MiB of the 256.0 MiB budget left)",
            },
          ],
        },
      },
    ],
    notes: [],
  };
  it("summarizes in one line per platform", () => {
    expect(summarizeExplanation(explanation)).toMatchInlineSnapshot(
      `"platforms added: linux/arm64 · linux/amd64: config: created, env BUILD_HOST, label org.opencontainers.image.revision; layer 2: 2 files changed (1 mode only, 1 mtime only); layer 3 added: too large: not inspected (300.0 MiB compressed, 255.9 MiB of the 256.0 MiB budget left)"`,
    );
  });
  it("renders markdown, capping the file list", () => {
    expect(renderExplanationMarkdown(explanation, { maxFiles: 1 })).toMatchInlineSnapshot(`
      "\`ghcr.io/acme/platform/banana:1111111\` (\`eeeeeeeeeeee\`) → \`ghcr.io/acme/platform/banana:2222222\` (\`ffffffffffff\`)

      Platforms only in the new image: \`linux/arm64\`

      #### linux/amd64

      | config | change |
      |---|---|
      | created | 2026-11-20T10:00:00Z → 2026-11-26T12:00:00Z |
      | env BUILD_HOST | added ci-7 |
      | label org.opencontainers.image.revision | 1111111 → 2222222 |

      Layers: 1 shared, 2 differ.

      - **layer 2 (bbbbbbbbbbbb → cccccccccccc)**: 2 files changed (1 mode only, 1 mtime only)

        | path | change |
        |---|---|
        | \`app/a\\|b\` | mode only: 0644 → 0600 |
        | … | 1 more |

      - **layer 3 added (dddddddddddd)**: too large: not inspected (300.0 MiB compressed, 255.9 MiB of the 256.0 MiB budget left)
      "
    `);
  });
});

describe("readTar", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "ngb-tar-"));
    const root = path.join(dir, "root");
    const deep = path.join(root, "a".repeat(60), "b".repeat(60));
    await mkdir(deep, { recursive: true });
    await writeFile(path.join(deep, "long-name.txt"), "hello\n");
    await chmod(path.join(deep, "long-name.txt"), 0o640);
    await symlink(`../${"c".repeat(120)}`, path.join(root, "link"));
    await writeFile(path.join(root, "empty"), "");
    for (const p of [
      path.join(deep, "long-name.txt"),
      path.join(root, "empty"),
      deep,
      path.dirname(deep),
      root,
    ]) {
      await utimes(p, 1_700_000_000, 1_700_000_000);
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const gnuTar = async (format: string) => {
    const file = path.join(dir, `${format}.tar`);
    await execa("tar", [
      `--format=${format}`,
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@1700000000",
      "-cf",
      file,
      "-C",
      path.join(dir, "root"),
      ".",
    ]);
    const { readFile } = await import("node:fs/promises");
    return readFile(file);
  };
  const list = async (bytes: Uint8Array, chunk = 700) => {
    // Odd chunk sizes: headers and contents straddle chunk boundaries.
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
    }
    const out: string[] = [];
    for await (const e of readTar(chunks())) {
      out.push(
        `${e.type} ${e.path} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.mtime} ${e.size} ${e.linkname ? `-> ${e.linkname.slice(0, 8)}… ` : ""}${e.sha256.slice(7, 15)}`,
      );
    }
    return out;
  };

  it("reads pax and GNU long names, links and modes written by GNU tar the same way", async () => {
    const pax = await list(await gnuTar("pax"));
    expect(await list(await gnuTar("gnu"))).toEqual(pax);
    expect(pax.map((l) => l.replace(/a{60}\/b{60}/, "<a60>/<b60>"))).toMatchInlineSnapshot(`
      [
        "dir . 755 0:0 1700000000 0 ",
        "dir aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 755 0:0 1700000000 0 ",
        "dir <a60>/<b60> 755 0:0 1700000000 0 ",
        "file <a60>/<b60>/long-name.txt 640 0:0 1700000000 6 5891b5b5",
        "file empty 644 0:0 1700000000 0 e3b0c442",
        "symlink link 777 0:0 1700000000 0 -> ../ccccc… ",
      ]
    `);
  });

  it("reads the sandbox builder's archives and rejects a corrupt header", async () => {
    const bytes = tar([
      ["etc/x", "1"],
      [`${"d/".repeat(60)}y`, "22", { mtime: 5, mode: 0o700 }],
    ]);
    expect(await list(bytes, 333)).toMatchInlineSnapshot(`
      [
        "file etc/x 644 0:0 0 1 6b86b273",
        "file d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/y 700 0:0 5 2 785f3ec7",
      ]
    `);
    const bad = Uint8Array.from(bytes);
    bad[0] = 0x41;
    await expect(list(bad)).rejects.toThrow(/bad header checksum at byte 0/);
    await expect(list(bytes.subarray(0, 520))).rejects.toThrow(/truncated archive/);
  });

  it("stops at the byte cap", async () => {
    const bytes = tar([["big", "x".repeat(10_000)]]);
    await expect(list(bytes)).resolves.toHaveLength(1);
    async function* once() {
      yield bytes;
    }
    const reading = (async () => {
      for await (const _ of readTar(once(), { maxBytes: 4096 })) void _;
    })();
    await expect(reading).rejects.toThrow("more than 4096 bytes uncompressed");
  });
});

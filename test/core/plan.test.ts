import { describe, expect, it } from "vitest";
import { discoverServices } from "../../src/core/discovery.js";
import { editJobFiles } from "../../src/core/edits.js";
import { deployedCommits, plan } from "../../src/core/plan.js";
import { findImages } from "../../src/jobfile/jobfile.js";
import { NEW_SHA, OLD_SHA, config, digest, fixtureFiles } from "./fixture.js";

const files = fixtureFiles();
const scanned = await Promise.all(
  [...files]
    .filter(([p]) => p.endsWith(".hcl"))
    .map(async ([path, text]) => ({ path, scan: await findImages(text) })),
);
const build = { sha: NEW_SHA, branch: "main" };
const zeroConfig = config("registry: ghcr.io/acme/platform\n");
const configured = config(`
services:
  - { name: banana, image: ghcr.io/acme/platform/banana, paths: [services/banana/**] }
  - { name: kiwi, image: ghcr.io/acme/platform/kiwi, paths: [services/kiwi/**], jobs: [nomad/kiwi.nomad.hcl] }
  - { name: mango, image: ghcr.io/acme/platform/mango }
  - { name: cache, image: redis }
  - { name: papaya, image: ghcr.io/acme/platform/papaya }
  - { name: ghost, image: ghcr.io/acme/platform/ghost }
`);
const built = (d: string) => ({ status: "built" as const, digest: d, tag: NEW_SHA, source: `x:${NEW_SHA}` });

describe("service discovery", () => {
  it("zero-config: every image under `registry` is a service named after its last path part", () => {
    const d = discoverServices(zeroConfig, scanned);
    expect(d.services.map((s) => [s.name, s.image, s.sites.map((x) => `${x.file}:${x.line} ${x.via}`)]))
      .toMatchInlineSnapshot(`
        [
          [
            "banana",
            "ghcr.io/acme/platform/banana",
            [
              "nomad/banana.nomad.hcl:11 literal",
            ],
          ],
          [
            "kiwi",
            "ghcr.io/acme/platform/kiwi",
            [
              "nomad/kiwi.nomad.hcl:12 variable",
            ],
          ],
          [
            "mango",
            "ghcr.io/acme/platform/mango",
            [
              "nomad/mango.nomad.hcl:9 literal",
            ],
          ],
        ]
      `);
    expect(d.fileErrors).toEqual([
      { file: "nomad/broken.nomad.hcl", line: 11, error: expect.stringMatching(/^not valid HCL2: /) },
    ]);
    expect(d.unknownSites).toMatchInlineSnapshot(`
      [
        {
          "file": "nomad/mango.nomad.hcl",
          "line": 17,
          "reason": "calls format(), which is not evaluated",
          "task": "papaya",
        },
      ]
    `);
  });

  it("configured services match by repository (Docker Hub names normalised) and their own job globs", () => {
    const d = discoverServices(configured, scanned);
    expect(
      d.services.map((s) => ({
        name: s.name,
        files: s.sites.map((x) => x.file),
        unmanaged: s.unmanaged.length,
      })),
    ).toMatchInlineSnapshot(`
      [
        {
          "files": [
            "nomad/banana.nomad.hcl",
          ],
          "name": "banana",
          "unmanaged": 0,
        },
        {
          "files": [
            "nomad/banana.nomad.hcl",
          ],
          "name": "cache",
          "unmanaged": 0,
        },
        {
          "files": [],
          "name": "ghost",
          "unmanaged": 0,
        },
        {
          "files": [
            "nomad/kiwi.nomad.hcl",
          ],
          "name": "kiwi",
          "unmanaged": 0,
        },
        {
          "files": [
            "nomad/mango.nomad.hcl",
          ],
          "name": "mango",
          "unmanaged": 0,
        },
        {
          "files": [],
          "name": "papaya",
          "unmanaged": 0,
        },
      ]
    `);
  });

  it("keeps two repositories that end in the same name apart", () => {
    const twin = files.get("nomad/kiwi.nomad.hcl")!.replace("platform/kiwi", "platform/eu/kiwi");
    return findImages(twin).then((scan) => {
      const d = discoverServices(zeroConfig, [...scanned, { path: "nomad/eu/kiwi.nomad.hcl", scan }]);
      expect(d.services.map((s) => s.name)).toEqual(["banana", "eu/kiwi", "kiwi", "mango"]);
    });
  });
});

describe("plan", () => {
  const discovery = discoverServices(configured, scanned);

  it("lists the commits old pins record so the caller can answer ancestry", () => {
    expect(deployedCommits(configured, discovery)).toEqual([OLD_SHA]);
  });

  it("sorts services into moved / unchanged / new / not built / error", () => {
    const p = plan({
      config: configured,
      build,
      discovery,
      resolved: {
        banana: built(digest("c")),
        kiwi: built(digest("b")),
        mango: built(digest("d")),
        cache: { status: "not-built", reason: `redis:${NEW_SHA} is not in the registry` },
      },
      ancestry: { [OLD_SHA]: "ahead" },
    });
    expect(p.counts).toMatchInlineSnapshot(`
      {
        "awaiting": 0,
        "error": 2,
        "moved": 1,
        "new": 1,
        "not-built": 1,
        "stale": 0,
        "unchanged": 1,
        "unverified": 0,
      }
    `);
    expect(
      p.services.map((s) => ({
        name: s.name,
        status: s.status,
        reason: s.reason,
        old: s.old,
        next: s.next?.digest?.slice(0, 12) ?? null,
        files: s.files,
        retag: s.retag,
      })),
    ).toMatchInlineSnapshot(`
      [
        {
          "files": [
            "nomad/banana.nomad.hcl",
          ],
          "name": "banana",
          "next": "sha256:ccccc",
          "old": {
            "commit": "1111111111111111111111111111111111111111",
            "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "mixed": false,
            "tag": "1111111111111111111111111111111111111111",
          },
          "reason": undefined,
          "retag": [],
          "status": "moved",
        },
        {
          "files": [
            "nomad/banana.nomad.hcl",
          ],
          "name": "cache",
          "next": null,
          "old": {
            "commit": null,
            "digest": null,
            "mixed": false,
            "tag": "7.2",
          },
          "reason": "redis:2222222222222222222222222222222222222222 is not in the registry",
          "retag": [],
          "status": "not-built",
        },
        {
          "files": [],
          "name": "ghost",
          "next": null,
          "old": {
            "commit": null,
            "digest": null,
            "mixed": false,
            "tag": null,
          },
          "reason": "services[5].image: no job file uses ghcr.io/acme/platform/ghost (1 image expression could not be evaluated, e.g. nomad/mango.nomad.hcl:17: calls format(), which is not evaluated)",
          "retag": [],
          "status": "error",
        },
        {
          "files": [
            "nomad/kiwi.nomad.hcl",
          ],
          "name": "kiwi",
          "next": "sha256:bbbbb",
          "old": {
            "commit": "1111111111111111111111111111111111111111",
            "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "mixed": false,
            "tag": "1111111111111111111111111111111111111111",
          },
          "reason": undefined,
          "retag": [],
          "status": "unchanged",
        },
        {
          "files": [
            "nomad/mango.nomad.hcl",
          ],
          "name": "mango",
          "next": "sha256:ddddd",
          "old": {
            "commit": null,
            "digest": null,
            "mixed": false,
            "tag": "latest",
          },
          "reason": undefined,
          "retag": [],
          "status": "new",
        },
        {
          "files": [],
          "name": "papaya",
          "next": null,
          "old": {
            "commit": null,
            "digest": null,
            "mixed": false,
            "tag": null,
          },
          "reason": "services[4].image: no job file uses ghcr.io/acme/platform/papaya (1 image expression could not be evaluated, e.g. nomad/mango.nomad.hcl:17: calls format(), which is not evaluated)",
          "retag": [],
          "status": "error",
        },
      ]
    `);
  });

  it("never downgrades: a build older than the deployed pin is stale; a rebuild of the same commit is flagged", () => {
    const resolved = { banana: built(digest("c")), kiwi: built(digest("e")) };
    const older = plan({ config: configured, build, discovery, resolved, ancestry: { [OLD_SHA]: "behind" } });
    expect(
      older.services.filter((s) => s.name === "banana" || s.name === "kiwi").map((s) => [s.status, s.reason]),
    ).toMatchInlineSnapshot(`
        [
          [
            "stale",
            "build 2222222 is older than the deployed 1111111: not downgrading",
          ],
          [
            "stale",
            "build 2222222 is older than the deployed 1111111: not downgrading",
          ],
        ]
      `);
    const same = plan({
      config: configured,
      build,
      discovery,
      resolved,
      ancestry: { [OLD_SHA]: "identical" },
    });
    expect(same.services.find((s) => s.name === "banana")).toMatchObject({
      status: "moved",
      reason: "same commit as the deployed image but another digest: the build is not reproducible",
    });
  });
});

describe("job file edits", () => {
  it("pins moved and new services, leaves the rest byte for byte", async () => {
    const discovery = discoverServices(zeroConfig, scanned);
    const p = plan({
      config: zeroConfig,
      build,
      discovery,
      resolved: { banana: built(digest("c")), kiwi: built(digest("b")), mango: built(digest("d")) },
    });
    const out = await editJobFiles(zeroConfig, p, files);
    expect(out.plan).toBe(p);
    expect(
      out.files.map((f) => ({
        path: f.path,
        edits: f.edits.map((e) => `${e.line}: ${e.before} -> ${e.after}`),
      })),
    ).toMatchInlineSnapshot(`
      [
        {
          "edits": [
            "11: ghcr.io/acme/platform/banana:1111111111111111111111111111111111111111@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -> ghcr.io/acme/platform/banana@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
          ],
          "path": "nomad/banana.nomad.hcl",
        },
        {
          "edits": [
            "9: docker://ghcr.io/acme/platform/mango:latest -> docker://ghcr.io/acme/platform/mango@sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
          ],
          "path": "nomad/mango.nomad.hcl",
        },
      ]
    `);
    const banana = out.files.find((f) => f.path === "nomad/banana.nomad.hcl")!;
    expect(banana.after.split("\n").filter((l, i) => l !== banana.before.split("\n")[i]))
      .toMatchInlineSnapshot(`
        [
          "        image = "ghcr.io/acme/platform/banana@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"",
        ]
      `);
  });

  it("turns a service whose file the engine refuses into an error and drops its file changes", async () => {
    const discovery = discoverServices(zeroConfig, scanned);
    const p = plan({
      config: zeroConfig,
      build,
      discovery,
      resolved: { banana: built(digest("c")), kiwi: built(digest("b")), mango: built(digest("d")) },
    });
    const texts = new Map(files);
    texts.delete("nomad/mango.nomad.hcl");
    const out = await editJobFiles(zeroConfig, p, texts);
    expect(out.files.map((f) => f.path)).toEqual(["nomad/banana.nomad.hcl"]);
    expect(out.plan.services.find((s) => s.name === "mango")).toMatchObject({
      status: "error",
      reason: "nomad/mango.nomad.hcl: file could not be read",
    });
    expect(out.plan.counts.error).toBe(1);
  });
});

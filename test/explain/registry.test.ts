// Explanations of real images in the real local registry (docker-registry), built deterministically.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainImages, renderExplanationText } from "../../src/explain/index.js";
import { createRegistryClient } from "../../src/registry/index.js";
import zlib from "node:zlib";
import { MEDIA, type BuiltImage, buildImage, buildIndex, pushTestImage, sha256 } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const client = () => createRegistryClient();
const base = { "etc/app.conf": "port = 8080\n", "bin/app": "#!/bin/sh\necho app\n" };
const os = { "etc/os-release": "ID=test\n" };
const long = `usr/share/${"deep/".repeat(22)}file.txt`;

const images: Record<string, BuiltImage> = {
  v1: buildImage({ layers: [os, base] }),
  // Same bytes in every file, every mtime moved (a build without SOURCE_DATE_EPOCH).
  mtimes: buildImage({
    layers: [os, base],
    entryMeta: { "etc/app.conf": { mtime: 1_700_000_000 }, "bin/app": { mtime: 1_700_000_000 } },
  }),
  modes: buildImage({ layers: [os, base], entryMeta: { "bin/app": { mode: 0o755 } } }),
  file: buildImage({ layers: [os, { ...base, "etc/app.conf": "port = 9090\n" }] }),
  env: buildImage({ layers: [os, base], env: ["PATH=/bin", "GIT_SHA=abc"] }),
  extra: buildImage({ layers: [os, base, { "var/cache/build.log": "built at 12:00\n" }] }),
  longA: buildImage({ layers: [{ [long]: "x" }] }),
  longB: buildImage({ layers: [{ [long]: "x" }], entryMeta: { [long]: { mtime: 86_400 } } }),
};

beforeAll(async () => {
  registry = await startRegistry();
  for (const [tag, image] of Object.entries(images))
    await pushTestImage(registry.directHost, "acme/app", tag, image);
  const arch = (architecture: string, name: string) =>
    buildImage({
      platform: { os: "linux", architecture },
      layers: [{ "etc/name": name }, { "bin/arch": architecture }],
    });
  await pushTestImage(
    registry.directHost,
    "acme/multi",
    "1",
    buildIndex([arch("amd64", "a"), arch("arm64", "a")]),
  );
  await pushTestImage(
    registry.directHost,
    "acme/multi",
    "2",
    buildIndex([arch("amd64", "a"), arch("arm64", "b"), arch("s390x", "b")]),
  );
});
afterAll(() => registry?.stop());

const ref = (tag: string, repo = "acme/app") => `${registry.host}/${repo}:${tag}`;
const text = async (a: string, b: string, options = {}) =>
  renderExplanationText(await explainImages(client(), ref(a), ref(b), options))
    .replaceAll(registry.host, "<registry>")
    .replace(/sha256:[0-9a-f]{64}/g, (d) => `<${d.slice(7, 15)}>`);

describe("explainImages with a real registry", () => {
  it("names an mtime-only change when the content is identical", async () => {
    expect(await text("v1", "mtimes")).toMatchInlineSnapshot(`
      "A <registry>/acme/app:v1  <7f8d15c4>
      B <registry>/acme/app:mtimes  <dff16fff>
      config: same apart from the layer diff_ids
      layers: 1 shared, 1 differ
        layer 2 (8d6f55df1b4c → 48bb8898b005): 2 files changed (2 mtime only)
          ~ bin/app  mtime only: 1970-01-01T00:00:00Z → 2023-11-14T22:13:20Z
          ~ etc/app.conf  mtime only: 1970-01-01T00:00:00Z → 2023-11-14T22:13:20Z
      why: 2 file(s) differ only in mtime
        likely cause: file mtimes taken from the build time or checkout
        remedy: SOURCE_DATE_EPOCH with rewrite-timestamp (buildkit), \`--mtime\`/\`--owner\` on tar, or Nix/Bazel/ko which normalize file metadata
      "
    `);
  });

  it("reads only the layers that differ (shared diff_ids are never downloaded)", async () => {
    registry.clearRequests();
    await explainImages(client(), ref("v1"), ref("mtimes"));
    const blobs = registry
      .requests()
      .filter((r) => r.path.includes("/blobs/"))
      .map((r) => r.path.replace(/^.*\/blobs\//, ""));
    const v1 = images.v1!;
    const mtimes = images.mtimes!;
    expect(blobs.sort()).toEqual(
      [v1.config.digest, mtimes.config.digest, v1.layers[1]!.digest, mtimes.layers[1]!.digest].sort(),
    );
    expect(blobs).not.toContain(v1.layers[0]!.digest);
  });

  it("names a permission-only change", async () => {
    expect(await text("v1", "modes")).toMatchInlineSnapshot(`
      "A <registry>/acme/app:v1  <7f8d15c4>
      B <registry>/acme/app:modes  <7a3f9717>
      config: same apart from the layer diff_ids
      layers: 1 shared, 1 differ
        layer 2 (8d6f55df1b4c → 741a31fd997e): 1 file changed (1 mode only)
          ~ bin/app  mode only: 0644 → 0755
      why: 1 file(s) differ only in mode
        likely cause: file modes or owners depend on the build machine (umask, user)
        remedy: SOURCE_DATE_EPOCH with rewrite-timestamp (buildkit), \`--mtime\`/\`--owner\` on tar, or Nix/Bazel/ko which normalize file metadata
      "
    `);
  });

  it("lists one changed file with its content hashes", async () => {
    expect(await text("v1", "file")).toMatchInlineSnapshot(`
      "A <registry>/acme/app:v1  <7f8d15c4>
      B <registry>/acme/app:file  <ae290642>
      config: same apart from the layer diff_ids
      layers: 1 shared, 1 differ
        layer 2 (8d6f55df1b4c → e7af107fb729): 1 file changed
          ~ etc/app.conf  content: 12 B 37107a4e5ea8 → 12 B 04c5e951fe9c
      why: 1 layer(s) hold other files
        likely cause: a real change (or non-reproducible output such as embedded build times or random names)
        remedy: if no commit explains it, rebuild the same commit twice and compare with \`nomad-gitops-bot explain\`
      "
    `);
  });

  const hasZstd = "zstdCompressSync" in zlib;

  it.runIf(hasZstd)("reads zstd-compressed layers (Node 22.15+)", async () => {
    const a = buildImage({ layers: [os, base], compression: "zstd" });
    const b = buildImage({
      layers: [os, { ...base, "bin/app": "#!/bin/sh\necho v2\n" }],
      compression: "zstd",
    });
    await pushTestImage(registry.directHost, "acme/zstd", "a", a);
    await pushTestImage(registry.directHost, "acme/zstd", "b", b);
    const out = renderExplanationText(
      await explainImages(client(), ref("a", "acme/zstd"), ref("b", "acme/zstd")),
    );
    expect(out).toContain("layers: 1 shared, 1 differ");
    expect(out).toMatch(/~ bin\/app {2}content: /);
  });

  it.skipIf(hasZstd)("names zstd-compressed layers it cannot read on this Node", async () => {
    // The layer bytes are never read here, so a relabelled gzip layer stands in for a zstd one.
    const relabel = (image: BuiltImage): BuiltImage => {
      const manifest = JSON.parse(Buffer.from(image.manifest.bytes).toString("utf8")) as {
        layers: Array<{ mediaType: string }>;
      };
      for (const layer of manifest.layers) layer.mediaType = MEDIA.ociLayerZstd;
      const bytes = Buffer.from(JSON.stringify(manifest));
      return { ...image, manifest: { digest: sha256(bytes), bytes } };
    };
    await pushTestImage(registry.directHost, "acme/zstd", "a", relabel(images.v1!));
    await pushTestImage(registry.directHost, "acme/zstd", "b", relabel(images.file!));
    const out = renderExplanationText(
      await explainImages(client(), ref("a", "acme/zstd"), ref("b", "acme/zstd")),
    );
    expect(out).toContain(`zstd-compressed layer: not inspected (Node ${process.version} has no zstd)`);
  });

  it("shows a changed env var as a config change with identical layers", async () => {
    expect(await text("v1", "env")).toMatchInlineSnapshot(`
      "A <registry>/acme/app:v1  <7f8d15c4>
      B <registry>/acme/app:env  <02b45448>
      config:
        env GIT_SHA: added abc
      layers: 2 shared, 0 differ
      why: config differs: env GIT_SHA
        likely cause: a real change of the runtime configuration (env, labels, entrypoint, user…) or a value stamped per build
        remedy: if the value is per build (a commit SHA, a date), move it out of the image or make it an input
      "
    `);
  });

  it("shows an added layer with its files", async () => {
    expect(await text("v1", "extra")).toMatchInlineSnapshot(`
      "A <registry>/acme/app:v1  <7f8d15c4>
      B <registry>/acme/app:extra  <f4a0d1da>
      config:
        layers: 2 → 3
        history entries: 2 → 3
      layers: 2 shared, 1 differ
        layer 3 added (66034f3b3f73): 1 added
          + var/cache/build.log
      why: config differs: layers, history entries
        likely cause: a real change of the runtime configuration (env, labels, entrypoint, user…) or a value stamped per build
        remedy: if the value is per build (a commit SHA, a date), move it out of the image or make it an input
      why: 1 layer(s) hold other files
        likely cause: a real change (or non-reproducible output such as embedded build times or random names)
        remedy: if no commit explains it, rebuild the same commit twice and compare with \`nomad-gitops-bot explain\`
      "
    `);
  });

  it("reads pax long names", async () => {
    expect(await text("longA", "longB")).toMatchInlineSnapshot(`
      "A <registry>/acme/app:longA  <d6987344>
      B <registry>/acme/app:longB  <40500db5>
      config: same apart from the layer diff_ids
      layers: 0 shared, 1 differ
        layer 1 (185c415d3e02 → 2c36f96bc3ad): 1 file changed (1 mtime only)
          ~ usr/share/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/deep/file.txt  mtime only: 1970-01-01T00:00:00Z → 1970-01-02T00:00:00Z
      why: 1 file(s) differ only in mtime
        likely cause: file mtimes taken from the build time or checkout
        remedy: SOURCE_DATE_EPOCH with rewrite-timestamp (buildkit), \`--mtime\`/\`--owner\` on tar, or Nix/Bazel/ko which normalize file metadata
      "
    `);
  });

  it("compares multi-platform indexes per platform", async () => {
    const out = await explainImages(client(), ref("1", "acme/multi"), ref("2", "acme/multi"));
    expect(out.platformsOnlyInB).toEqual(["linux/s390x"]);
    expect(
      renderExplanationText(out)
        .replaceAll(registry.host, "<registry>")
        .replace(/sha256:[0-9a-f]{64}/g, (d) => `<${d.slice(7, 15)}>`),
    ).toMatchInlineSnapshot(`
      "A <registry>/acme/multi:1  <e60945f8>
      B <registry>/acme/multi:2  <f52faf70>
      platforms only in B: linux/s390x
      linux/amd64:
        config: identical
        layers: 2 shared, 0 differ
      linux/arm64:
        config: same apart from the layer diff_ids
        layers: 1 shared, 1 differ
          layer 1 (eb159b27ab16 → d4c0a7a1863d): 1 file changed
            ~ etc/name  content: 1 B ca978112ca1b → 1 B 3e23e8160039
        why: 1 layer(s) hold other files
          likely cause: a real change (or non-reproducible output such as embedded build times or random names)
          remedy: if no commit explains it, rebuild the same commit twice and compare with \`nomad-gitops-bot explain\`
      "
    `);
  });

  it("leaves layers beyond the byte budget uninspected, with a note", async () => {
    expect(await text("v1", "file", { maxBytes: 100 })).toMatchInlineSnapshot(`
      "A <registry>/acme/app:v1  <7f8d15c4>
      B <registry>/acme/app:file  <ae290642>
      config: same apart from the layer diff_ids
      layers: 1 shared, 1 differ
        layer 2 (8d6f55df1b4c → e7af107fb729): too large: not inspected (6.0 KiB compressed, 100 B of the 100 B budget left)
      why: 1 layer(s) hold other files
        likely cause: a real change (or non-reproducible output such as embedded build times or random names)
        remedy: if no commit explains it, rebuild the same commit twice and compare with \`nomad-gitops-bot explain\`
      "
    `);
  });

  it("says so when both refs are the same image", async () => {
    const out = await explainImages(
      client(),
      ref("v1"),
      `${registry.host}/acme/app@${images.v1!.manifest.digest}`,
    );
    expect(out).toMatchObject({ identical: true, platforms: [] });
  });

  it("fails with the registry's error for a missing tag", async () => {
    await expect(explainImages(client(), ref("v1"), ref("gone"))).rejects.toThrow(/tag "gone" not found/);
  });
});

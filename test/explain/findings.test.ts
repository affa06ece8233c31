// `explain` names the level that differs, with its likely cause and remedy, on real images in the real
// registry: gzip headers only, manifest annotations only, a config stamped with the build time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explainImages, renderExplanationText, summarizeExplanation } from "../../src/explain/index.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const files: Array<Record<string, string>> = [
  { "etc/os-release": "ID=test\n" },
  { "bin/app": "#!/bin/sh\necho app\n" },
];
const images = {
  v1: buildImage({ layers: files }),
  gzip: buildImage({ layers: files, gzip: { mtime: 1_700_000_000, os: 3, level: 6 } }),
  annotated: buildImage({ layers: files, annotations: { "org.opencontainers.image.created": "2026-11-29" } }),
  stamped: buildImage({ layers: files, created: "2026-11-29T12:00:00Z" }),
};
const ref = (tag: string) => `${registry.host}/acme/findings:${tag}`;
const explain = (b: string) => explainImages(createRegistryClient({ env: {} }), ref("v1"), ref(b));

beforeAll(async () => {
  registry = await startRegistry();
  for (const [tag, image] of Object.entries(images))
    await pushTestImage(registry.directHost, "acme/findings", tag, image);
});
afterAll(async () => registry?.stop());

describe("explain findings", () => {
  it("same files compressed differently: names the recompressed layers, the gzip cause and the remedy", async () => {
    const e = await explain("gzip");
    const p = e.platforms[0]!;
    expect(p.config).toEqual([]);
    expect(p.layers.changes).toEqual([]);
    expect(p.layers.recompressed).toHaveLength(2);
    expect(p.findings!.map((f) => f.level)).toEqual(["layer-encoding"]);
    expect(p.findings![0]!.cause).toContain("gzip header mtime");
    expect(p.findings![0]!.remedy).toContain("--preserve-digests");
    // No more "config identical, 0 differ" without a word on what moved.
    expect(summarizeExplanation(e)).toContain("same files (same diff_id) but other compressed bytes");
    expect(renderExplanationText(e)).toContain("remedy: copy with `skopeo copy --preserve-digests`");
  });

  it("only the manifest differs (annotations)", async () => {
    const p = (await explain("annotated")).platforms[0]!;
    expect(p.layers.recompressed).toEqual([]);
    expect(p.findings!.map((f) => f.level)).toEqual(["manifest"]);
  });

  it("a config that differs only in its created time: the build stamps the time, SOURCE_DATE_EPOCH", async () => {
    const p = (await explain("stamped")).platforms[0]!;
    expect(p.findings!.map((f) => f.level)).toEqual(["config-timestamps"]);
    expect(p.findings![0]!.remedy).toContain("SOURCE_DATE_EPOCH");
  });
});

// `explain` names the level that differs, with its likely cause and remedy, on real images in the real
// registry: gzip headers only, manifest annotations only, a config stamped with the build time, files
// written in another order, whiteouts, the same layers stacked in another order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import {
  type Explanation,
  explainImages,
  renderExplanationText,
  summarizeExplanation,
} from "../../src/explain/index.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { captureIO } from "../helpers/io.js";
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
const app = { "bin/app": "#!/bin/sh\necho app\n", "etc/app.conf": "port = 8080\n" };
const base = { "etc/os-release": "ID=test\n" };
/** The images of the file order, whiteout and layer order cases, compared with `sorted`. */
const more = {
  sorted: buildImage({ layers: [base, app] }),
  // The same two files, the same headers, written config file first (directory-listing order).
  unsorted: buildImage({
    layers: [base, { "etc/app.conf": app["etc/app.conf"], "bin/app": app["bin/app"] }],
    unsortedFiles: true,
  }),
  // The app layer also deletes the base layer's os-release…
  whiteout: buildImage({ layers: [base, { ...app, "etc/.wh.os-release": "" }] }),
  // …or makes etc/ opaque: what the base layer has under etc/ is hidden.
  opaque: buildImage({ layers: [base, { ...app, "etc/.wh..wh..opq": "" }] }),
  // The same two layers, stacked the other way round.
  swapped: buildImage({ layers: [app, base] }),
};
const ref = (tag: string) => `${registry.host}/acme/findings:${tag}`;
const explain = (b: string, a = "v1") => explainImages(createRegistryClient({ env: {} }), ref(a), ref(b));
const mask = (text: string) =>
  text.replaceAll(registry.host, "<registry>").replace(/sha256:[0-9a-f]{64}/g, (d) => `<${d.slice(7, 15)}>`);
/** `nomad-gitops-bot explain` as a user runs it: the text and the --json explanation. */
async function cli(a: string, b: string): Promise<{ text: string; json: Explanation }> {
  const text = captureIO();
  expect(await main(["explain", ref(a), ref(b)], text.io)).toBe(0);
  const json = captureIO();
  expect(await main(["explain", "--json", ref(a), ref(b)], json.io)).toBe(0);
  expect(text.stderr + json.stderr).toBe("");
  return { text: mask(text.stdout), json: JSON.parse(json.stdout) as Explanation };
}

beforeAll(async () => {
  registry = await startRegistry();
  for (const [tag, image] of Object.entries({ ...images, ...more }))
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

  it("same files, written in another order: file order, sorted entries as the remedy", async () => {
    const { text, json } = await cli("sorted", "unsorted");
    const p = json.platforms[0]!;
    expect(p.layers.changes).toHaveLength(1);
    expect(p.layers.changes[0]).toMatchObject({ files: [], unchangedFiles: 2, entryOrder: "differs" });
    expect(p.findings!.map((f) => f.level)).toEqual(["file-order"]);
    expect(text).toMatchInlineSnapshot(`
      "A <registry>/acme/findings:sorted  <7f8d15c4>
      B <registry>/acme/findings:unsorted  <ba5bc9c2>
      config: same apart from the layer diff_ids
      layers: 1 shared, 1 differ
        layer 2 (8d6f55df1b4c → b76160ad7c93): same files, in another order in the archive
      why: same files with the same metadata, in another order inside the layer
        likely cause: the archive was written in directory-listing order, which depends on the file system or the build tool's version, instead of sorted by path
        remedy: write layers with sorted entries (buildkit, ko, Nix and Bazel sort them; for hand-made tars \`tar --sort=name\`)
      "
    `);
  });

  it("a layer that differs only by a whiteout: names the deleted path", async () => {
    const { text, json } = await cli("sorted", "whiteout");
    const p = json.platforms[0]!;
    expect(p.layers.changes[0]!.files).toEqual([
      { path: "etc/.wh.os-release", kind: "added", whiteout: { kind: "file", target: "etc/os-release" } },
    ]);
    expect(p.findings!.map((f) => [f.level, f.what])).toEqual([
      ["whiteouts", "the layers differ only in whiteouts: deletes etc/os-release"],
    ]);
    expect(text).toMatchInlineSnapshot(`
      "A <registry>/acme/findings:sorted  <7f8d15c4>
      B <registry>/acme/findings:whiteout  <d5eb5880>
      config: same apart from the layer diff_ids
      layers: 1 shared, 1 differ
        layer 2 (8d6f55df1b4c → 50fb2087594b): 1 whiteout differs
          + etc/.wh.os-release  whiteout: deletes etc/os-release
      why: the layers differ only in whiteouts: deletes etc/os-release
        likely cause: a build step deletes or replaces files of a lower layer (rm, a cleanup step, a directory re-created), or the builder writes opaque directories where another writes single whiteouts
        remedy: a real change of the running file system if the path exists below: deploy it; if unintended, delete files in the step that creates them, keep one builder, or squash the layers
      "
    `);
  });

  it("an opaque whiteout: names the directory whose lower contents it hides", async () => {
    const { text, json } = await cli("sorted", "opaque");
    const p = json.platforms[0]!;
    expect(p.layers.changes[0]!.files).toEqual([
      { path: "etc/.wh..wh..opq", kind: "added", whiteout: { kind: "opaque", target: "etc" } },
    ]);
    expect(p.findings!.map((f) => f.level)).toEqual(["whiteouts"]);
    expect(p.findings![0]!.what).toBe(
      "the layers differ only in whiteouts: hides what lower layers hold under etc",
    );
    expect(text).toContain("+ etc/.wh..wh..opq  whiteout: hides what lower layers hold under etc");
  });

  it("the same layers in another order: a real change, said as such", async () => {
    const { text, json } = await cli("sorted", "swapped");
    const p = json.platforms[0]!;
    expect(p.layers).toMatchObject({ shared: 2, changes: [], recompressed: [] });
    expect(p.layers.reordered).toEqual([
      { diffId: more.sorted.layers[0]!.diffId, a: 0, b: 1 },
      { diffId: more.sorted.layers[1]!.diffId, a: 1, b: 0 },
    ]);
    expect(p.configs.a).not.toBe(p.configs.b);
    expect(p.findings!.map((f) => f.level)).toEqual(["layer-order"]);
    expect(summarizeExplanation(json)).toBe("same layers, different order");
    expect(text).toMatchInlineSnapshot(`
      "A <registry>/acme/findings:sorted  <7f8d15c4>
      B <registry>/acme/findings:swapped  <4e440ad2>
      config: same apart from the order of the layer diff_ids
      layers: 2 shared, 0 differ
        same layers, different order: layer 1 → 2 (dd96d370429e), layer 2 → 1 (8d6f55df1b4c)
      why: same layers, different order: layer 1 → 2, layer 2 → 1
        likely cause: the build ran its steps in another order (Dockerfile instructions, COPY order, a changed layer grouping in Nix, Bazel or ko)
        remedy: a real change for the runtime (upper layers win where paths overlap, whiteouts act on what lies below): deploy it; if unintended, fix the order of the build steps
      "
    `);
  });
});

// A deploy whose image moved although no commit touched the service's paths: flagged, explained with
// the real explainer against real images in the local registry, and rendered in the check run and comment.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDeploy } from "../../src/core/pipeline.js";
import { createExplainer } from "../../src/explain/index.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { MemoryRepo, NEW_SHA, OLD_SHA, config } from "../core/fixture.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const files = { "app/kiwi": "kiwi v1\n", "etc/kiwi.toml": "x = 1\n" };
const old = buildImage({ layers: [{ "etc/os-release": "ID=fruit\n" }, files] });
// Rebuilt from the same sources, but the build stamped the time into the files' mtimes.
const rebuilt = buildImage({
  layers: [{ "etc/os-release": "ID=fruit\n" }, files],
  entryMeta: { "app/kiwi": { mtime: 1_764_158_400 } },
});
const peeled = buildImage({
  layers: [{ "etc/os-release": "ID=fruit\n" }, { ...files, "app/kiwi": "kiwi v2\n" }],
});

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/kiwi", OLD_SHA, old);
  await pushTestImage(registry.directHost, "acme/banana", OLD_SHA, old);
  await pushTestImage(registry.directHost, "acme/kiwi", NEW_SHA, rebuilt);
  await pushTestImage(registry.directHost, "acme/banana", NEW_SHA, peeled);
});
afterAll(() => registry?.stop());

const job = (name: string) =>
  `job "${name}" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      config {\n        image = "${registry.host}/acme/${name}:${OLD_SHA}@${old.manifest.digest}"\n      }\n    }\n  }\n}\n`;

describe("deploy with an explainer", () => {
  it("explains a move no commit accounts for, and leaves moves with commits alone", async () => {
    const repo = new MemoryRepo(
      new Map([
        ["nomad/kiwi.nomad.hcl", job("kiwi")],
        ["nomad/banana.nomad.hcl", job("banana")],
      ]),
      [
        { sha: OLD_SHA, subject: "Deploy", files: ["services/kiwi/main.go"] },
        { sha: NEW_SHA, subject: "banana: v2", files: ["services/banana/main.go"] },
      ],
    );
    const client = createRegistryClient();
    const calls: string[] = [];
    const explainer = createExplainer(client);
    const result = await runDeploy({
      config: config(`
services:
  - { name: banana, image: ${registry.host}/acme/banana, paths: [services/banana/**] }
  - { name: kiwi, image: ${registry.host}/acme/kiwi, paths: [services/kiwi/**] }
`),
      build: { sha: NEW_SHA, branch: "main" },
      repo,
      registry: client,
      mode: "plan",
      clock: { now: () => new Date("2026-11-26T12:00:00Z") },
      explainer: { explain: (a, b) => (calls.push(`${a} ${b}`), explainer.explain(a, b)) },
    });
    const mask = (text: string) =>
      text.replaceAll(registry.host, "<registry>").replace(/\b[0-9a-f]{12}\b/g, (d) => `<${d.slice(0, 4)}>`);
    const [banana, kiwi] = result.plan.services;
    expect(banana).toMatchObject({ name: "banana", status: "moved" });
    expect(banana!.explanation).toBeUndefined();
    expect(kiwi).toMatchObject({
      name: "kiwi",
      status: "moved",
      reason: "digest moved although no commit touched its paths: the build may not be reproducible",
    });
    expect(calls).toEqual([
      `${registry.host}/acme/kiwi@${old.manifest.digest} ${registry.host}/acme/kiwi@${rebuilt.manifest.digest}`,
    ]);
    expect(kiwi!.explanation).toMatchObject({ ok: true });
    const check = result.check.summary.slice(result.check.summary.indexOf("**Moved without"));
    expect(mask(check)).toMatchInlineSnapshot(`
      "**Moved without a commit in its paths**

      - **kiwi** non-reproducible build: layer 2: 1 file changed (1 mtime only)

      \`<registry>/acme/kiwi\` (\`<d7d3>\`) → \`<registry>/acme/kiwi\` (\`<75d5>\`)

      Config: same apart from the layer diff_ids.

      Layers: 1 shared, 1 differ.

      - **layer 2 (<0aa3> → <ffa4>)**: 1 file changed (1 mtime only)

        | path | change |
        |---|---|
        | \`app/kiwi\` | mtime only: 1970-01-01T00:00:00Z → 2025-11-26T12:00:00Z |

      - **1 file(s) differ only in mtime**. Likely cause: file mtimes taken from the build time or checkout. Remedy: SOURCE_DATE_EPOCH with rewrite-timestamp (buildkit), \`--mtime\`/\`--owner\` on tar, or Nix/Bazel/ko which normalize file metadata.
      "
    `);
    const comment = result.comment.slice(result.comment.indexOf("**Moved without"));
    expect(mask(comment)).toMatchInlineSnapshot(`
      "**Moved without a commit in its paths**

      - **kiwi** non-reproducible build: layer 2: 1 file changed (1 mtime only)

      <details><summary>Why did kiwi move?</summary>

      \`<registry>/acme/kiwi\` (\`<d7d3>\`) → \`<registry>/acme/kiwi\` (\`<75d5>\`)

      Config: same apart from the layer diff_ids.

      Layers: 1 shared, 1 differ.

      - **layer 2 (<0aa3> → <ffa4>)**: 1 file changed (1 mtime only)

        | path | change |
        |---|---|
        | \`app/kiwi\` | mtime only: 1970-01-01T00:00:00Z → 2025-11-26T12:00:00Z |

      - **1 file(s) differ only in mtime**. Likely cause: file mtimes taken from the build time or checkout. Remedy: SOURCE_DATE_EPOCH with rewrite-timestamp (buildkit), \`--mtime\`/\`--owner\` on tar, or Nix/Bazel/ko which normalize file metadata.

      </details>
      "
    `);
  });

  it("reports an explainer failure without failing the deploy", async () => {
    const repo = new MemoryRepo(new Map([["nomad/kiwi.nomad.hcl", job("kiwi")]]), [
      { sha: OLD_SHA, subject: "Deploy", files: [] },
      { sha: NEW_SHA, subject: "docs", files: ["README.md"] },
    ]);
    const result = await runDeploy({
      config: config(
        `services:\n  - { name: kiwi, image: ${registry.host}/acme/kiwi, paths: [services/kiwi/**] }\n`,
      ),
      build: { sha: NEW_SHA, branch: "main" },
      repo,
      registry: createRegistryClient(),
      mode: "plan",
      explainer: {
        explain: async () => {
          throw new Error("registry went away");
        },
      },
    });
    expect(result.plan.services[0]!.explanation).toEqual({ ok: false, error: "registry went away" });
    expect(result.check.summary).toContain(
      "- **kiwi** non-reproducible build: not explained (registry went away)",
    );
    expect(result.check.conclusion).toBe("success");
  });
});

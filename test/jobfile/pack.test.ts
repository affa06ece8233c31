// Nomad Pack templates: read line by line (never as HCL); image values pinned in the pack's variables.hcl.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hcl2Object } from "../../src/jobfile/parse.js";
import { analyzePackTemplate, packVariablesFile, pinPackTemplate } from "../../src/jobfile/pack.js";

const read = (name: string) =>
  readFileSync(new URL(`../fixtures/nomad/packs/shop/${name}`, import.meta.url), "utf8");
const D1 = `sha256:${"d1".repeat(32)}`;
const template = { path: "packs/shop/templates/shop.nomad.tpl", text: read("templates/shop.nomad.tpl") };
const variables = { path: "packs/shop/variables.hcl", text: read("variables.hcl") };

describe("Nomad Pack templates", () => {
  it("finds the pack's variables.hcl from the template path", () => {
    expect(packVariablesFile("packs/shop/templates/shop.nomad.tpl")).toBe("packs/shop/variables.hcl");
    expect(packVariablesFile("templates/app.nomad.tpl")).toBe("variables.hcl");
    expect(packVariablesFile("jobs/app.nomad.hcl")).toBeNull();
  });

  it("reports every task image with where its value is, skipping heredocs", async () => {
    const analysis = await analyzePackTemplate({ ...template, variables });
    expect(analysis.ok).toBe(true);
    if (!analysis.ok) return;
    expect(
      analysis.sites.map(
        (s) =>
          `${s.line} ${s.task} ${JSON.stringify(s.reference)} ${s.managed ? `@${s.edit!.file}` : `${s.kind}: ${s.reason}`}`,
      ),
    ).toMatchInlineSnapshot(`
      [
        "10 web "ghcr.io/acme/shop/web:3.0.1" @packs/shop/variables.hcl",
        "26 worker null split: the image is put together from several template actions",
        "33 cache "docker.io/library/redis:7.4" @packs/shop/variables.hcl",
        "40 sidecar "envoyproxy/envoy:v1.30.1" @packs/shop/templates/shop.nomad.tpl",
        "47 proxy null no-default: variable "proxy_image" has no default in packs/shop/variables.hcl and no values file sets it",
      ]
    `);
  });

  it("says the pack's variables.hcl is missing when it was not read", async () => {
    const analysis = await analyzePackTemplate({ ...template, variables: null });
    expect(analysis.ok && analysis.sites[0]!.reason).toBe("the pack's variables.hcl was not read");
  });

  it("pins the default in variables.hcl and a literal in the template, byte for byte", async () => {
    const out = await pinPackTemplate({ ...template, variables }, [
      { repository: "ghcr.io/acme/shop/web", digest: D1 },
      { repository: "redis", digest: D1 },
      { repository: "envoyproxy/envoy", digest: D1 },
    ]);
    expect([...out.files.keys()].sort()).toEqual([template.path, variables.path].sort());
    expect(out.files.get(variables.path)).toBe(
      variables.text
        .replace('"ghcr.io/acme/shop/web:3.0.1"', `"ghcr.io/acme/shop/web:3.0.1@${D1}"`)
        .replace('default = "7.4"', `default = "7.4@${D1}"`),
    );
    expect(out.files.get(template.path)).toBe(
      template.text.replace('"envoyproxy/envoy:v1.30.1"', `"envoyproxy/envoy:v1.30.1@${D1}"`),
    );
    expect(out.edits.map((e) => `${e.line} ${e.after}`)).toEqual([
      `10 ghcr.io/acme/shop/web:3.0.1@${D1}`,
      `33 docker.io/library/redis:7.4@${D1}`,
      `40 envoyproxy/envoy:v1.30.1@${D1}`,
    ]);
    expect(out.skipped.map((s) => s.line)).toEqual([]);
    expect(hcl2Object(out.files.get(variables.path)!).ok).toBe(true);
  });
});

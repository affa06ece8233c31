// Nomad Pack templates: read line by line (never as HCL); image values pinned in the pack's variables.hcl.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hcl2Object } from "../../src/jobfile/parse.js";
import {
  MAX_PACK_TEMPLATE_BYTES,
  MAX_PACK_VALUES_BYTES,
  analyzePackTemplate,
  packVariablesFile,
  pinPackTemplate,
} from "../../src/jobfile/pack.js";
import { JobFileError } from "../../src/jobfile/pin.js";

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
        "26 worker "ghcr.io/acme/shop/worker:1.2" @packs/shop/variables.hcl",
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
        .replace('"ghcr.io/acme/shop/web:3.0.1"', `"ghcr.io/acme/shop/web@${D1}"`)
        .replace('default = "7.4"', `default = "7.4@${D1}"`),
    );
    expect(out.files.get(template.path)).toBe(
      template.text.replace('"envoyproxy/envoy:v1.30.1"', `"envoyproxy/envoy@${D1}"`),
    );
    expect(out.edits.map((e) => `${e.line} ${e.after}`)).toEqual([
      `10 ghcr.io/acme/shop/web@${D1}`,
      `33 docker.io/library/redis:7.4@${D1}`,
      `40 envoyproxy/envoy@${D1}`,
    ]);
    expect(out.skipped.map((s) => s.line)).toEqual([]);
    expect(hcl2Object(out.files.get(variables.path)!).ok).toBe(true);
  });
});

const board = (name: string) =>
  readFileSync(new URL(`../fixtures/nomad/packs/board/${name}`, import.meta.url), "utf8");
const boardInput = {
  path: "packs/board/templates/board.nomad.tpl",
  text: board("templates/board.nomad.tpl"),
  variables: { path: "packs/board/variables.hcl", text: board("variables.hcl") },
};

describe("Nomad Pack templates: split values and shared variables", () => {
  it("resolves repository and tag from two variables, and refuses a variable read outside image sites", async () => {
    const analysis = await analyzePackTemplate(boardInput);
    expect(analysis.ok).toBe(true);
    if (!analysis.ok) return;
    expect(
      analysis.sites.map(
        (s) =>
          `${s.line} ${s.task} ${JSON.stringify(s.reference)} ${s.managed ? `@${s.edit!.file}:${s.edit!.text}${s.shared ? ` with ${s.shared.join(",")}` : ""}` : `${s.kind}: ${s.reason}`}`,
      ),
    ).toEqual([
      '12 api "ghcr.io/acme/board/api:2.4.0" @packs/board/variables.hcl:2.4.0',
      '19 ui "ghcr.io/acme/board/ui:2.4.0" shared: ui_image is also read at line 5 of the template; editing it would change that too',
      '26 search "docker.elastic.co/elasticsearch/elasticsearch:8.13.4" @packs/board/variables.hcl:8.13.4',
      '33 ship-api "docker.io/timberio/vector:0.39.0-alpine" @packs/board/variables.hcl:docker.io/timberio/vector:0.39.0-alpine with 40',
      '40 ship-ui "docker.io/timberio/vector:0.39.0-alpine" @packs/board/variables.hcl:docker.io/timberio/vector:0.39.0-alpine with 33',
      '47 agent "ghcr.io/acme/board/agent:0.4.3" @packs/board/variables.hcl:0.4.3',
    ]);
    // The template's reads of values written in variables.hcl, for the check across files.
    expect(analysis.reads.map((r) => `${r.line}${r.site ? `@${r.site}` : ""}`)).toEqual([
      "5",
      "12@12",
      "12@12",
      "19@19",
      "26@26",
      "33@33",
      "40@40",
      "47@47",
    ]);
  });

  it("pins the tag variable of a split value with the digest (both styles), byte for byte", async () => {
    for (const style of ["tag+digest", "digest"] as const) {
      const out = await pinPackTemplate(boardInput, [{ repository: "ghcr.io/acme/board/api", digest: D1 }], {
        style,
      });
      expect(out.skipped).toEqual([]);
      expect([...out.files.keys()]).toEqual([boardInput.variables.path]);
      // Only the tag literal is editable, so a digest-style pin keeps the tag there.
      expect(out.files.get(boardInput.variables.path)).toBe(
        boardInput.variables.text.replace('default = "2.4.0" #', `default = "2.4.0@${D1}" #`),
      );
      expect(out.edits.map((e) => `${e.line} ${e.before} -> ${e.after}`)).toEqual([
        `12 ghcr.io/acme/board/api:2.4.0 -> ghcr.io/acme/board/api:2.4.0@${D1}`,
      ]);
      expect(hcl2Object(out.files.get(boardInput.variables.path)!).ok).toBe(true);
    }
  });

  it("pins one variable read by two image sites of the same repository together, and skips the shared one", async () => {
    const out = await pinPackTemplate(boardInput, [
      { repository: "timberio/vector", digest: D1 },
      { repository: "ghcr.io/acme/board/ui", digest: D1 },
    ]);
    expect(out.edits.map((e) => e.line)).toEqual([33, 40]);
    expect(out.skipped).toEqual([
      {
        line: 19,
        repository: "ghcr.io/acme/board/ui",
        reason: "ui_image is also read at line 5 of the template; editing it would change that too",
      },
    ]);
    expect(out.files.get(boardInput.variables.path)).toBe(
      boardInput.variables.text.replace(
        '"docker.io/timberio/vector:0.39.0-alpine"',
        `"docker.io/timberio/vector@${D1}"`,
      ),
    );
  });

  it("pins the variable a printf renders into the image (the format's text stays)", async () => {
    const out = await pinPackTemplate(boardInput, [{ repository: "ghcr.io/acme/board/agent", digest: D1 }], {
      style: "digest",
    });
    expect(out.skipped).toEqual([]);
    expect([...out.files.keys()]).toEqual([boardInput.variables.path]);
    expect(out.files.get(boardInput.variables.path)).toBe(
      boardInput.variables.text.replace('default = "0.4.3"', `default = "0.4.3@${D1}"`),
    );
    // A format whose text comes after %s would need the template edited inside a Go string: refused.
    const text = boardInput.text.replace('agent:%s\\""', '%s-slim\\""');
    const analysis = await analyzePackTemplate({ ...boardInput, text });
    expect(analysis.ok && analysis.sites.at(-1)).toMatchObject({ line: 47, managed: false, kind: "split" });
  });
});

describe("Nomad Pack size bounds", () => {
  const padded = (text: string, bytes: number) => `${text}\n# ${"x".repeat(bytes - text.length)}\n`;

  it("[fault:pack-too-large] refuses a template over the bound before reading it, saying how large it is and what the bound is", async () => {
    const huge = { ...template, text: padded(template.text, MAX_PACK_TEMPLATE_BYTES), variables };
    const kib = Math.ceil(Buffer.byteLength(huge.text) / 1024);
    const error = `the template is ${kib} KiB; a Nomad Pack template may be at most 8192 KiB (8 MiB): split it into several templates`;
    expect(await analyzePackTemplate(huge)).toEqual({ ok: false, error, line: null });
    const pinned = await pinPackTemplate(huge, [{ repository: "ghcr.io/acme/shop/web", digest: D1 }]).catch(
      (e: unknown) => e,
    );
    expect(pinned).toBeInstanceOf(JobFileError);
    expect((pinned as Error).message).toBe(error);
    // At the bound itself it is read.
    const atBound = padded(template.text, MAX_PACK_TEMPLATE_BYTES - 8);
    expect(Buffer.byteLength(atBound)).toBeLessThanOrEqual(MAX_PACK_TEMPLATE_BYTES);
    expect((await analyzePackTemplate({ ...template, text: atBound, variables })).ok).toBe(true);
  });

  it("[fault:pack-too-large] refuses a pack whose variables.hcl is over its bound, naming the file", async () => {
    const big = { ...variables, text: padded(variables.text, MAX_PACK_VALUES_BYTES) };
    const kib = Math.ceil(Buffer.byteLength(big.text) / 1024);
    expect(await analyzePackTemplate({ ...template, variables: big })).toEqual({
      ok: false,
      error: `the pack's packs/shop/variables.hcl is ${kib} KiB; a pack's variables or values file may be at most 1024 KiB`,
      line: null,
    });
  });
});

// The job files this repository ships (the bot's own job and the examples) are read by the engine
// like any user's: valid HCL2, every image found, and pinnable with a verified edit.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hcl2Object } from "../../src/jobfile/parse.js";
import { findImages } from "../../src/jobfile/jobfile.js";
import { pinImages } from "../../src/jobfile/pin.js";
import { repositoryOf } from "../../src/image/reference.js";

const root = new URL("../../nomad/", import.meta.url);
const files = [
  "nomad-gitops-bot.nomad.hcl",
  ...readdirSync(new URL("examples/", root))
    .filter((f) => f.endsWith(".hcl"))
    .sort()
    .map((f) => `examples/${f}`),
];
const read = (file: string) => readFileSync(new URL(file, root), "utf8");
const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("the job files in nomad/", () => {
  it("are valid HCL2 with every image managed", async () => {
    const found: string[] = [];
    for (const file of files) {
      const scan = await findImages(read(file));
      expect(scan.ok, `${file}: ${scan.ok ? "" : scan.error}`).toBe(true);
      for (const s of scan.images) {
        expect(s.managed, `${file}:${s.line} ${s.reason ?? ""}`).toBe(true);
        found.push(`${file}:${s.line} ${s.task} ${s.via} ${s.reference}`);
      }
    }
    expect(found).toMatchInlineSnapshot(`
      [
        "nomad-gitops-bot.nomad.hcl:58 bot variable ghcr.io/nomad-gitops/nomad-gitops-bot:0.1.0",
        "examples/api.nomad.hcl:13 api variable ghcr.io/acme/platform/api:3f2a9c1@sha256:0b9a4c0e2d6f1e8a7c3b5d9f0e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c",
        "examples/web.nomad.hcl:18 web literal ghcr.io/acme/platform/web:3f2a9c1",
        "examples/web.nomad.hcl:38 log-shipper literal docker.io/grafana/promtail:3.0.0",
        "examples/worker.nomad.hcl:14 worker literal docker://ghcr.io/acme/platform/worker:3f2a9c1",
      ]
    `);
  });

  it("pin with a verified edit that changes only the image strings", async () => {
    for (const file of files) {
      const before = read(file);
      const scan = await findImages(before);
      if (!scan.ok) throw new Error(scan.error);
      const targets = scan.images.map((s) => ({ repository: repositoryOf(s.ref!), digest: DIGEST }));
      const out = await pinImages(before, targets);
      expect(out.skipped).toEqual([]);
      expect(out.edits.length).toBe(scan.images.length);
      expect(out.text.split(DIGEST).length - 1).toBe(new Set(out.edits.map((e) => e.line)).size);
      expect(hcl2Object(out.text).ok).toBe(true);
    }
  });

  it("run the bot as replicas with a health check, resources and secrets from Nomad Variables", () => {
    const text = read("nomad-gitops-bot.nomad.hcl");
    const parsed = hcl2Object(text);
    expect(parsed.ok).toBe(true);
    expect(text).toMatch(/count = var\.replicas/);
    expect(text).toMatch(/default = 2\b/);
    expect(text).toMatch(/check \{\s+type\s+= "http"\s+path\s+= "\/ping"/);
    expect(text).toMatch(/resources \{\s+cpu\s+= \d+\s+memory = \d+/);
    expect(text.match(/nomadVar "nomad\/jobs\/nomad-gitops-bot"/g)?.length).toBe(3);
    // Replicas share Redis (per-repository locks, one GitHub write budget) when the variable names one.
    expect(text).toMatch(/\{\{- if \.REDIS_URL \}\}\s+REDIS_URL=\{\{ \.REDIS_URL \}\}/);
    // No secret value in the spec itself: only references to variables rendered at run time.
    expect(text).not.toMatch(/BEGIN (RSA )?PRIVATE KEY|ghp_|ghs_/);
  });
});

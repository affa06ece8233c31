// The value patterns of issue 12: `variables {}` blocks, map defaults, shared values, var files.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type JobFileScan, findImages } from "../../src/jobfile/jobfile.js";
import { hcl2Object } from "../../src/jobfile/parse.js";
import { PinVerificationError, pinImages } from "../../src/jobfile/pin.js";
import { verifyPin } from "../../src/jobfile/verify.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8");
const D1 = `sha256:${"d1".repeat(32)}`;
const D2 = `sha256:${"e2".repeat(32)}`;

function summary(scan: JobFileScan): string[] | string {
  if (!scan.ok) return `invalid at line ${scan.line}: ${scan.error}`;
  return scan.images.map((s) => {
    const where = s.literal ? ` @${s.literal.file ?? "here"}:${s.literal.line}` : "";
    const shared = s.shared ? ` shared with ${s.shared.join(",")}` : "";
    const state = s.managed ? "managed" : `${s.kind}: ${s.reason}`;
    return `${s.line} ${s.task} ${JSON.stringify(s.reference)}${where}${shared} ${state}`;
  });
}

/** The lines that differ, as -old/+new pairs. */
function changed(before: string, after: string): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [`-${line.trim()}`, `+${b[i]!.trim()}`]));
}

describe("variables {} blocks, map defaults and shared values", () => {
  const text = fixture("variables-block.nomad.hcl");

  it("follows the shorthand block, map keys in both spellings and locals maps", async () => {
    expect(summary(await findImages(text))).toMatchInlineSnapshot(`
      [
        "30 app "ghcr.io/acme/app:2.4.1-alpine" @here:30 managed",
        "37 worker "ghcr.io/acme/worker:2.4.1" @here:6 managed",
        "44 db "postgres:16.3" @here:8 managed",
        "51 proxy "traefik:v3.1" @here:13 managed",
        "58 mail-in "ghcr.io/acme/mail:1.9" @here:18 shared with 65 managed",
        "65 mail-out "ghcr.io/acme/mail:1.9" @here:18 shared with 58 managed",
        "72 cache "redis:7.2" shared: var.shared_repo_tag is shared by the images on lines 72, 79, which are different repositories (docker.io/library/redis, docker.io/valkey/valkey)",
        "79 queue "valkey/valkey:7.2" shared: var.shared_repo_tag is shared by the images on lines 72, 79, which are different repositories (docker.io/library/redis, docker.io/valkey/valkey)",
      ]
    `);
  });

  it("pins the literal where it is written, once for sites that share it, byte for byte", async () => {
    const out = await pinImages(text, [
      { repository: "ghcr.io/acme/app", digest: D2 },
      { repository: "ghcr.io/acme/worker", digest: D1 },
      { repository: "postgres", digest: D2 },
      { repository: "traefik", digest: D1 },
      { repository: "ghcr.io/acme/mail", digest: D2 },
      { repository: "redis", digest: D1 },
    ]);
    expect(changed(text, out.text)).toMatchInlineSnapshot(`
      [
        "-"worker" = "2.4.1"",
        "+"worker" = "2.4.1@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"",
        "-db_image = "postgres:16.3"",
        "+db_image = "postgres@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"",
        "-proxy = "traefik:v3.1"",
        "+proxy = "traefik@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"",
        "-default = "1.9"",
        "+default = "1.9@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"",
        "-image = "ghcr.io/acme/app:\${var.versions.app}-alpine"",
        "+image = "ghcr.io/acme/app:\${var.versions.app}-alpine@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"",
      ]
    `);
    expect(out.edits.map((e) => `${e.line} ${e.after}`)).toHaveLength(6);
    expect(out.skipped.map((s) => `${s.line} ${s.repository}`)).toEqual(["72 redis"]);
    // HashiCorp's reading agrees that the map default now holds the pin.
    const parsed = hcl2Object(out.text);
    expect(parsed.ok && JSON.stringify(parsed.value)).toContain(`"worker":"2.4.1@${D1}"`);
  });

  it("refuses to pin one of two sites sharing a literal alone", async () => {
    const one =
      'variable "t" { default = "1" }\njob "j" {\n  group "g" {\n' +
      '    task "a" {\n      driver = "docker"\n      config { image = "app:${var.t}" }\n    }\n' +
      '    task "b" {\n      driver = "podman"\n      config { image = "app:${var.t}" }\n    }\n  }\n}\n';
    // docker gets tag+digest, podman digest only: but through the tag literal both can only get
    // tag+digest, so they still agree and move together.
    const out = await pinImages(one, [{ repository: "app", digest: D1 }], { style: "digest" });
    expect(out.edits.map((e) => e.line)).toEqual([6, 10]);
    expect(changed(one, out.text)).toEqual([
      `-variable "t" { default = "1" }`,
      `+variable "t" { default = "1@${D1}" }`,
    ]);
  });
});

describe("var files", () => {
  const job = fixture("varfiles/web.nomad.hcl");
  const beside = { path: "varfiles/web.vars.hcl", text: fixture("varfiles/web.vars.hcl") };
  const prod = { path: "varfiles/prod.vars.hcl", text: fixture("varfiles/prod.vars.hcl") };

  it("reports variables without default as such, naming what would set them", async () => {
    const scan = await findImages(job);
    expect(summary(scan)).toMatchInlineSnapshot(`
      [
        "24 web null no-default: var.web_image has no default in this file and no var file sets it",
        "31 api null no-default: var.api_tag has no default in this file and no var file sets it",
        "38 sidecar null no-default: var.images has no default in this file and no var file sets it",
        "45 unset null no-default: var.images has no default in this file and no var file sets it",
      ]
    `);
    expect(scan.ok && scan.images[0]!.hint).toContain("vars");
  });

  it("reads values from var files, the later file winning", async () => {
    expect(summary(await findImages(job, { varFiles: [beside, prod] }))).toMatchInlineSnapshot(`
      [
        "24 web "ghcr.io/acme/web:1.0.0" @varfiles/web.vars.hcl:2 managed",
        "31 api "ghcr.io/acme/api:3.2" @varfiles/prod.vars.hcl:2 managed",
        "38 sidecar "envoyproxy/envoy:v1.30.1" @varfiles/prod.vars.hcl:4 managed",
        "45 unset null expression: var.images.missing is not a value written in varfiles/prod.vars.hcl",
      ]
    `);
  });

  it("pins the literal in the var file and leaves the job file alone, keeping CRLF and comments", async () => {
    const out = await pinImages(
      job,
      [
        { repository: "ghcr.io/acme/web", digest: D1 },
        { repository: "ghcr.io/acme/api", digest: D2, tag: "3.3" },
      ],
      { varFiles: [beside, prod] },
    );
    expect(out.text).toBe(job);
    expect([...out.varFiles.keys()]).toEqual(["varfiles/web.vars.hcl", "varfiles/prod.vars.hcl"]);
    expect(out.varFiles.get("varfiles/web.vars.hcl")).toBe(
      beside.text.replace('"ghcr.io/acme/web:1.0.0"', `"ghcr.io/acme/web@${D1}"`),
    );
    expect(out.varFiles.get("varfiles/prod.vars.hcl")).toBe(
      prod.text.replace('api_tag = "3.2"', `api_tag = "3.3@${D2}"`),
    );
    expect(out.edits.map((e) => `${e.line} ${e.file} ${e.after}`)).toEqual([
      `24 varfiles/web.vars.hcl ghcr.io/acme/web@${D1}`,
      `31 varfiles/prod.vars.hcl ghcr.io/acme/api:3.3@${D2}`,
    ]);
  });

  it("refuses an invalid var file by name", async () => {
    const broken = { path: "broken.vars.hcl", text: 'web_image = "a:1",\n' };
    expect(summary(await findImages(job, { varFiles: [broken] }))).toMatch(/^invalid .*broken\.vars\.hcl/);
  });

  it("verification catches a var file edit it was not told about", async () => {
    const check = {
      before: job,
      after: job,
      varFiles: [{ path: prod.path, before: prod.text, after: prod.text.replace("3.2", "9.9") }],
      sites: [],
      semantic: hcl2Object(job).ok ? (hcl2Object(job) as { value: unknown }).value : null,
      expected: new Map(),
      splices: [],
    };
    await expect(verifyPin(check)).rejects.toThrow(PinVerificationError);
  });
});

describe("JSON job files", () => {
  it("finds Config.image of every task in the API form, and nothing in Meta", async () => {
    expect(summary(await findImages(fixture("json/api.nomad.json")))).toMatchInlineSnapshot(`
      [
        "15 frontend "ghcr.io/acme/shop/frontend:1.4.2" managed",
        "22 edge "docker://quay.io/acme/edge:2.0" managed",
        "28 runtime "ghcr.io/acme/\${NOMAD_META_flavour}:1" runtime: an interpolation, evaluated when the job is parsed or run",
      ]
    `);
  });

  it("finds config images in HCL's JSON syntax, blocks as objects or lists", async () => {
    expect(summary(await findImages(fixture("json/hcl.nomad.json")))).toMatchInlineSnapshot(`
      [
        "8 server "nginx:1.27" managed",
        "9 builder "ghcr.io/acme/docs-builder:5" managed",
      ]
    `);
  });

  it("pins by splicing the string content: every other byte kept, JSON escapes used", async () => {
    const text = fixture("json/api.nomad.json");
    const out = await pinImages(text, [
      { repository: "ghcr.io/acme/shop/frontend", digest: D1 },
      { repository: "quay.io/acme/edge", digest: D2 },
    ]);
    expect(changed(text, out.text)).toMatchInlineSnapshot(`
      [
        "-"Config": { "image": "ghcr.io/acme/shop/frontend:1.4.2", "ports": ["http"] },",
        "+"Config": { "image": "ghcr.io/acme/shop/frontend@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1", "ports": ["http"] },",
        "-"image": "docker://quay.io/acme/edge:2.0"",
        "+"image": "docker://quay.io/acme/edge@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"",
      ]
    `);
    const parsed = JSON.parse(out.text) as {
      Job: { TaskGroups: Array<{ Tasks: Array<{ Config: { image: string } }> }> };
    };
    expect(parsed.Job.TaskGroups[0]!.Tasks.map((t) => t.Config.image)).toEqual([
      `ghcr.io/acme/shop/frontend@${D1}`,
      `docker://quay.io/acme/edge@${D2}`,
      "ghcr.io/acme/${NOMAD_META_flavour}:1",
    ]);
    const hcl = fixture("json/hcl.nomad.json");
    const pinned = await pinImages(hcl, [{ repository: "ghcr.io/acme/docs-builder", digest: D1, tag: "6" }], {
      style: "tag+digest",
    });
    expect(pinned.text).toBe(
      hcl.replace('"ghcr.io/acme/docs-builder:5"', `"ghcr.io/acme/docs-builder:6@${D1}"`),
    );
  });

  it("refuses a broken JSON file with the line", async () => {
    expect(summary(await findImages('{\n  "Job": {\n    "ID": "x",\n  }\n}\n'))).toBe(
      "invalid at line 4: not valid JSON: expected a string (line 4)",
    );
  });
});

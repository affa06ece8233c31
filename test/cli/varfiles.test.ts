// `images` and `pin` with var files: <job>.vars.hcl beside the job by convention, more with --var-file.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";

const D1 = `sha256:${"d1".repeat(32)}`;
let dir: string;

function copy(name: string): string {
  const to = path.join(dir, name);
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), to);
  return to;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "varfiles-test-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("var files on the command line", () => {
  it("images reads <job>.vars.hcl beside the job and --var-file after it, and says where a pin goes", async () => {
    const job = copy("varfiles/web.nomad.hcl");
    copy("varfiles/web.vars.hcl");
    const prod = copy("varfiles/prod.vars.hcl");
    const cap = captureIO();
    expect(await main(["images", "--json", "--var-file", prod, job], cap.io)).toBe(0);
    const images = JSON.parse(cap.stdout.replaceAll(dir, "DIR")).files[0].images;
    expect(
      images.map((i: { task: string; reference: string; literal?: { file: string; line: number } }) => [
        i.task,
        i.reference,
        i.literal && { file: i.literal.file, line: i.literal.line },
      ]),
    ).toEqual([
      ["web", "ghcr.io/acme/web:1.0.0", { file: "DIR/varfiles/web.vars.hcl", line: 2 }],
      ["api", "ghcr.io/acme/api:3.2", { file: "DIR/varfiles/prod.vars.hcl", line: 2 }],
      ["sidecar", "envoyproxy/envoy:v1.30.1", { file: "DIR/varfiles/prod.vars.hcl", line: 4 }],
      ["unset", null, undefined],
    ]);
    expect(images[3].kind).toBe("expression");
    expect(images[3].hint).toMatch(/string/);
  });

  it("pin writes the var file that holds the value and leaves the job file byte for byte", async () => {
    const job = copy("varfiles/web.nomad.hcl");
    const beside = copy("varfiles/web.vars.hcl");
    const before = readFileSync(job, "utf8");
    const besideBefore = readFileSync(beside, "utf8");
    const cap = captureIO();
    expect(await main(["pin", "--set", `ghcr.io/acme/web=${D1}`, job], cap.io)).toBe(0);
    expect(readFileSync(job, "utf8")).toBe(before);
    expect(readFileSync(beside, "utf8")).toBe(
      besideBefore.replace('"ghcr.io/acme/web:1.0.0"', `"ghcr.io/acme/web@${D1}"`),
    );
    expect(cap.stderr.replaceAll(dir, "DIR")).toBe(
      `DIR/varfiles/web.nomad.hcl:24: ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web@${D1} (in DIR/varfiles/web.vars.hcl)\n`,
    );
  });

  it("a missing --var-file is an error for that job file, which is left alone", async () => {
    const job = copy("varfiles/web.nomad.hcl");
    const cap = captureIO();
    expect(
      await main(
        ["pin", "--var-file", path.join(dir, "nope.vars.hcl"), "--set", `ghcr.io/acme/web=${D1}`, job],
        cap.io,
      ),
    ).toBe(1);
    expect(cap.stderr).toContain("nope.vars.hcl: no such file");
  });

  it("[fault:varfile-beside-unreadable] a <job>.vars.hcl that is there but cannot be read is that job's error; no other's", async () => {
    // `images` asks whether the file beside exists before reading it (a missing one is the usual case):
    // one that exists and fails to read is still reported as the read's own error.
    const job = copy("varfiles/web.nomad.hcl");
    mkdirSync(path.join(dir, "varfiles/web.vars.hcl"));
    const other = path.join(dir, "other.nomad.hcl");
    writeFileSync(
      other,
      'job "o" {\n  group "g" {\n    task "t" {\n      config {\n        image = "a/b:1"\n      }\n    }\n  }\n}\n',
    );
    const cap = captureIO();
    expect(await main(["images", "--json", "--fast", job, other], cap.io)).toBe(1);
    const files = JSON.parse(cap.stdout.replaceAll(dir, "DIR")).files;
    expect(files.map((f: { file: string; ok: boolean; error?: string }) => [f.file, f.ok, f.error])).toEqual([
      ["DIR/varfiles/web.nomad.hcl", false, "DIR/varfiles/web.vars.hcl: is a directory"],
      ["DIR/other.nomad.hcl", true, undefined],
    ]);
    const before = readFileSync(job, "utf8");
    expect(await main(["pin", "--set", `ghcr.io/acme/web=${D1}`, job], captureIO().io)).toBe(1);
    expect(readFileSync(job, "utf8")).toBe(before);
  });
});

describe("Nomad Pack templates on the command line", () => {
  it("images lists a template's images (not a job file: ok false) with the variables.hcl they come from", async () => {
    const cap = captureIO();
    const file = "test/fixtures/nomad/packs/shop/templates/shop.nomad.tpl";
    expect(await main(["images", "--json", file], cap.io)).toBe(1);
    const [report] = JSON.parse(cap.stdout).files;
    expect(report.ok).toBe(false);
    expect(report.error).toBe(
      "a Nomad Pack template, not HCL: its images are read from the template, their values from test/fixtures/nomad/packs/shop/variables.hcl",
    );
    expect(
      report.images.map((i: { line: number; managed: boolean; kind?: string }) => [
        i.line,
        i.managed,
        i.kind,
      ]),
    ).toEqual([
      [10, true, undefined],
      [26, true, undefined],
      [33, true, undefined],
      [40, true, undefined],
      [47, false, "no-default"],
    ]);
  });
});

describe("pin on a Nomad Pack template", () => {
  it("writes the pack's variables.hcl default and the template's own string, nothing else", async () => {
    const template = copy("packs/shop/templates/shop.nomad.tpl");
    const variables = copy("packs/shop/variables.hcl");
    const [tBefore, vBefore] = [readFileSync(template, "utf8"), readFileSync(variables, "utf8")];
    const cap = captureIO();
    const args = ["pin", "--set", `ghcr.io/acme/shop/web=${D1}`, "--set", `envoyproxy/envoy=${D1}`, template];
    expect(await main(args, cap.io)).toBe(0);
    expect(readFileSync(variables, "utf8")).toBe(
      vBefore.replace('"ghcr.io/acme/shop/web:3.0.1"', `"ghcr.io/acme/shop/web@${D1}"`),
    );
    expect(readFileSync(template, "utf8")).toBe(
      tBefore.replace('"envoyproxy/envoy:v1.30.1"', `"envoyproxy/envoy@${D1}"`),
    );
  });
});

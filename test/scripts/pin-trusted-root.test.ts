// scripts/pin-trusted-root.ts: the refresh path of the public-good root shipped with the package. The date
// people are shown is the one given (the last day TUF vouched for the copy), never the day it ran.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { publicGoodRoot } from "../../src/provenance/index.js";
import { PUBLIC_GOOD_AS_OF, PUBLIC_GOOD_SOURCE } from "../../src/provenance/roots/public-good.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixture = path.join(root, "test/fixtures/provenance/cli-cli-trusted_root.json");
const dir = mkdtempSync(path.join(os.tmpdir(), "ngb-pin-root-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pin = (...args: string[]) =>
  execa(process.execPath, ["--import", "tsx", "scripts/pin-trusted-root.ts", ...args], {
    cwd: root,
    reject: false,
  });

describe("pin-trusted-root", () => {
  it("writes the public-good root of a gh trusted-root file with the date and source given", async () => {
    const lines = path.join(dir, "roots.jsonl");
    // gh prints one root per line: GitHub's instance (no public-good Fulcio) and public-good.
    const github = { mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1" };
    writeFileSync(
      lines,
      `${JSON.stringify(github)}\n${JSON.stringify(JSON.parse(readFileSync(fixture, "utf8")))}\n`,
    );
    const out = path.join(dir, "public-good.ts");
    const run = await pin(
      lines,
      "--as-of",
      "2024-03-01",
      "--source",
      "gh attestation trusted-root",
      "--out",
      out,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "(as of 2024-03-01): CA https://fulcio.sigstore.dev, CA https://fulcio.sigstore.dev, log https://rekor.sigstore.dev",
    );
    const text = readFileSync(out, "utf8");
    expect(text).toContain('export const PUBLIC_GOOD_AS_OF = "2024-03-01";');
    expect(text).toContain('export const PUBLIC_GOOD_SOURCE = "gh attestation trusted-root";');
    expect(text).toContain('"baseUrl": "https://rekor.sigstore.dev"');
  });

  it("refuses to guess the date, and a file without the public-good instance", async () => {
    const out = path.join(dir, "refused.ts");
    const undated = await pin(fixture, "--source", "somewhere", "--out", out);
    expect(undated.exitCode).toBe(2);
    expect(undated.stderr).toContain("--as-of YYYY-MM-DD");
    const badDate = await pin(fixture, "--as-of", "yesterday", "--source", "x", "--out", out);
    expect(badDate.exitCode).toBe(2);
    expect(badDate.stderr).toContain('--as-of "yesterday": expected a date such as 2026-06-22');
    const other = path.join(dir, "other.json");
    writeFileSync(
      other,
      JSON.stringify({ mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1" }),
    );
    const none = await pin(other, "--as-of", "2024-03-01", "--source", "x", "--out", out);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain("no trusted root with the public-good Fulcio");
    expect(() => readFileSync(out)).toThrow();
  });

  it("the shipped root is named with the last day TUF vouched for it, which its source explains", () => {
    expect(publicGoodRoot().name).toBe(`public-good Sigstore (root as of ${PUBLIC_GOOD_AS_OF})`);
    expect(PUBLIC_GOOD_SOURCE).toContain(`expires ${PUBLIC_GOOD_AS_OF}`);
  });
});

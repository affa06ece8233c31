// scripts/pin-trusted-root.ts: the refresh path of the two roots shipped with the package (public-good and
// GitHub's instance). The date people are shown is the one given (the last day TUF vouched for the copy),
// never the day it ran; a root whose certificate chains do not hold is refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { githubRoot, publicGoodRoot } from "../../src/provenance/index.js";
import { GITHUB_AS_OF, GITHUB_SOURCE, GITHUB_TRUSTED_ROOT } from "../../src/provenance/roots/github.js";
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
      "(as of 2024-03-01): CA https://fulcio.sigstore.dev (until 2031-02-23T03:20:29.000Z), CA https://fulcio.sigstore.dev (until 2031-10-05T13:56:58.000Z), log https://rekor.sigstore.dev",
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

  it("writes GitHub's instance from the same gh output with --instance github, as gh printed it", async () => {
    const lines = path.join(dir, "both.jsonl");
    const github = JSON.stringify(GITHUB_TRUSTED_ROOT);
    writeFileSync(lines, `${JSON.stringify(JSON.parse(readFileSync(fixture, "utf8")))}\n${github}\n`);
    const out = path.join(dir, "github.ts");
    const run = await pin(
      lines,
      "--instance",
      "github",
      "--as-of",
      "2026-07-29",
      "--source",
      "gh",
      "--out",
      out,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "(as of 2026-07-29): CA fulcio.githubapp.com (until 2024-09-11T14:06:54.000Z), CA fulcio.githubapp.com",
    );
    expect(run.stdout).toContain(
      "CA fulcio.githubapp.com (until 2027-06-12T00:00:00.000Z), TSA timestamp.githubapp.com (until 2024-08-30T12:00:00.000Z)",
    );
    const text = readFileSync(out, "utf8");
    expect(text).toContain('export const GITHUB_AS_OF = "2026-07-29";');
    expect(text).toContain('export const GITHUB_SOURCE = "gh";');
    // The document as written, not as parsed: no `tlogs: []` the parser adds by default.
    const written = text.slice(text.indexOf("export const GITHUB_TRUSTED_ROOT: unknown = ") + 44, -2);
    expect(JSON.stringify(JSON.parse(written))).toBe(github);
  });

  it("refuses a root whose chains do not hold, and an instance it does not know", async () => {
    const broken = structuredClone(githubRoot().json);
    broken.timestampAuthorities[2]!.certChain.certificates[1] =
      broken.certificateAuthorities[0]!.certChain.certificates[1]!;
    const file = path.join(dir, "broken.json");
    writeFileSync(file, JSON.stringify(broken));
    const out = path.join(dir, "broken.ts");
    const run = await pin(
      file,
      "--instance",
      "github",
      "--as-of",
      "2026-07-29",
      "--source",
      "x",
      "--out",
      out,
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `${file}: refused, its certificate chains do not hold:\n  TSA timestamp.githubapp.com (#3): "O=GitHub, Inc., CN=TSA Timestamping" is not signed by "O=GitHub, Inc., CN=Fulcio Intermediate l1"`,
    );
    expect(() => readFileSync(out)).toThrow();
    const unknown = await pin(fixture, "--instance", "gitlab", "--as-of", "2026-07-29", "--source", "x");
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--instance "gitlab": expected public-good or github');
  });

  it("the shipped roots are named with the last day TUF vouched for them, which their sources explain", () => {
    expect(publicGoodRoot().name).toBe(`public-good Sigstore (root as of ${PUBLIC_GOOD_AS_OF})`);
    expect(PUBLIC_GOOD_SOURCE).toContain(`expires ${PUBLIC_GOOD_AS_OF}`);
    expect(githubRoot().name).toBe(`GitHub's Sigstore instance (root as of ${GITHUB_AS_OF})`);
    expect(GITHUB_SOURCE).toContain(`\`gh attestation trusted-root\` of ${GITHUB_AS_OF}`);
  });
});

// What people read of a verdict, from verdicts on bundles signed for real by the test Sigstore instance:
// the one line the check run, the comment and `verify REF` share, and the `gh attestation verify` command.
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import {
  describeVerdict,
  ghVerifyCommand,
  parseTrustedRoots,
  runName,
  shellLine,
  verifyAttestations,
  type ProvenancePolicy,
  type TrustRoot,
} from "../../src/provenance/index.js";
import { COMMIT, DIGEST, REPO, buildClaims, signBundle, testInstance } from "../helpers/sigstore.js";

const policy: ProvenancePolicy = {
  repository: REPO,
  workflow: "images.yml",
  ref: "refs/heads/main",
  commit: COMMIT,
  triggers: ["push", "workflow_dispatch"],
  runner: "github-hosted",
};
const SHARED = "https://github.com/acme/ci/.github/workflows/build.yml@refs/tags/v1";

let good: unknown;
let reusable: unknown;
let pr: unknown;
let roots: TrustRoot[];
beforeAll(async () => {
  const instance = await testInstance();
  roots = parseTrustedRoots(instance.trustedRoot, "test root");
  good = await signBundle(instance, {
    claims: { ...buildClaims(), "21": `https://github.com/${REPO}/actions/runs/42/attempts/2` },
  });
  reusable = await signBundle(instance, { claims: { ...buildClaims(), san: SHARED, "9": SHARED } });
  pr = await signBundle(instance, { claims: { ...buildClaims(), "20": "pull_request" } });
});

describe("describeVerdict", () => {
  it("says who signed, which commit, how and which run; markdown adds links, not words", () => {
    const v = verifyAttestations([good], DIGEST, policy, roots);
    expect(describeVerdict(v)).toBe(
      "verified: acme/platform/.github/workflows/images.yml@refs/heads/main built 9f8e7d6 (push, github-hosted runner), run 42, attempt 2 https://github.com/acme/platform/actions/runs/42/attempts/2",
    );
    expect(describeVerdict(v, "markdown")).toBe(
      "verified: `acme/platform/.github/workflows/images.yml@refs/heads/main` built [`9f8e7d6`](https://github.com/acme/platform/commit/9f8e7d6c5b4a39281706f5e4d3c2b1a098765432) (push, github-hosted runner), [run 42, attempt 2](https://github.com/acme/platform/actions/runs/42/attempts/2)",
    );
  });

  it("names the calling workflow when a reusable workflow signed", () => {
    const v = verifyAttestations([reusable], DIGEST, { ...policy, signer: SHARED.slice(19) }, roots);
    expect(describeVerdict(v)).toBe(
      "verified: acme/ci/.github/workflows/build.yml@refs/tags/v1 (called by acme/platform/.github/workflows/images.yml@refs/heads/main) built 9f8e7d6 (push, github-hosted runner), run 42 https://github.com/acme/platform/actions/runs/42/attempts/1",
    );
  });

  it("gives the failing check and its reason, the same in both formats", () => {
    const v = verifyAttestations([pr], DIGEST, policy, roots);
    const line =
      'unverified: trigger — the build was triggered by "pull_request", allowed: push, workflow_dispatch';
    expect(describeVerdict(v)).toBe(line);
    expect(describeVerdict(v, "markdown")).toBe(line);
  });

  it("keeps someone else's text from opening HTML in markdown", () => {
    const v = {
      status: "unverified" as const,
      digest: DIGEST,
      check: "ref",
      reason: 'built from ref "refs/heads/<img src=x>", expected refs/heads/main',
    };
    expect(describeVerdict(v, "markdown")).toBe(
      'unverified: ref — built from ref "refs/heads/&lt;img src=x&gt;", expected refs/heads/main',
    );
    expect(describeVerdict(v)).toBe(
      'unverified: ref — built from ref "refs/heads/<img src=x>", expected refs/heads/main',
    );
  });

  it("names a run by its number, or says build run for a link it does not know", () => {
    expect(runName("https://github.com/a/b/actions/runs/7/attempts/1")).toBe("run 7");
    expect(runName("https://ci.example/builds/7")).toBe("build run");
  });
});

describe("ghVerifyCommand", () => {
  it("pins the repository, the exact signer identity, the ref and the commit, and denies self-hosted runners", () => {
    expect(ghVerifyCommand("ghcr.io/acme/platform/api", DIGEST, policy)).toEqual([
      "gh",
      "attestation",
      "verify",
      `oci://ghcr.io/acme/platform/api@${DIGEST}`,
      "--repo",
      "acme/platform",
      "--cert-identity",
      "https://github.com/acme/platform/.github/workflows/images.yml@refs/heads/main",
      "--source-ref",
      "refs/heads/main",
      "--source-digest",
      COMMIT,
      "--deny-self-hosted-runners",
    ]);
  });

  it("names a reusable signer exactly, and leaves runners alone unless github-hosted is required", () => {
    const argv = ghVerifyCommand("ghcr.io/acme/platform/api", DIGEST, {
      ...policy,
      signer: "acme/ci/.github/workflows/build.yml@refs/tags/v1",
      runner: "any",
    });
    expect(argv.slice(6, 8)).toEqual(["--cert-identity", SHARED]);
    expect(argv).not.toContain("--deny-self-hosted-runners");
  });

  it("[fault:gh-command-shell-metacharacters] is printed as one line a shell reads back into the same arguments", async () => {
    const argv = ghVerifyCommand("ghcr.io/acme/platform/api", DIGEST, {
      ...policy,
      ref: "refs/heads/it's-$HOME",
    });
    const line = shellLine(argv);
    expect(line).toContain("--source-ref 'refs/heads/it'\\''s-$HOME'");
    const { stdout } = await execa("sh", ["-c", `printf '%s\\n' ${line.replace(/^gh /, "")}`]);
    expect(stdout.split("\n")).toEqual(argv.slice(1));
  });
});

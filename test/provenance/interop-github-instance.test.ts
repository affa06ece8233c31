// Real GitHub output from its own Sigstore instance (private repositories: fulcio.githubapp.com, RFC 3161
// timestamps, no log): the `github_provenance_demo` bundle of the GitHub CLI's test data (see
// test/fixtures/provenance/README.md). That instance's trusted root is not in the test data and not
// shipped (docs/supply-chain.md), so the signature cannot be checked offline: the certificate must still
// be read field by field, the policy must pass or fail on those fields, and verification against the
// roots at hand must say which CA is missing, never pass.
import { readFileSync } from "node:fs";
import { X509Certificate } from "@sigstore/core";
import { describe, expect, it } from "vitest";
import {
  checkPolicy,
  parseTrustedRoots,
  publicGoodRoot,
  signerIdentity,
  verifyAttestations,
  type ProvenancePolicy,
} from "../../src/provenance/index.js";
import { parseStatement } from "../../src/provenance/statement.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/provenance/${name}`, import.meta.url), "utf8");
const bundle = JSON.parse(fixture("github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl")) as {
  verificationMaterial: { x509CertificateChain: { certificates: Array<{ rawBytes: string }> } };
  dsseEnvelope: { payload: string };
};
const cert = X509Certificate.parse(
  Buffer.from(bundle.verificationMaterial.x509CertificateChain.certificates[0]!.rawBytes, "base64"),
);
const identity = signerIdentity(cert);
// The wheel's digest, the statement's subject.
const DIGEST = "sha256:ae57936def59bc4c75edd3a837d89bcefc6d3a5e31d55a6fa7a71624f92c3c3b";
const COMMIT = "a6c23b9806c593664f68637c8f9d45dfcf98b2db";
const WORKFLOW = "https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main";
const parsed = parseStatement(Buffer.from(bundle.dsseEnvelope.payload, "base64"));
if (typeof parsed === "string") throw new Error(`the demo's statement: ${parsed}`);
const statement = parsed;
const policy: ProvenancePolicy = {
  repository: "actions/attest-demo",
  repositoryId: "763287532",
  workflow: "build-python.yml",
  ref: "refs/heads/main",
  commit: COMMIT,
  triggers: ["workflow_dispatch"],
  runner: "github-hosted",
};

describe("github_provenance_demo 0.0.12 (GitHub's private-repository instance)", () => {
  it("reads every certificate field: repository, workflow, ref, commit, trigger, runner, visibility", () => {
    expect(identity).toEqual({
      san: WORKFLOW,
      issuer: "https://token.actions.githubusercontent.com",
      buildSignerUri: WORKFLOW,
      buildSignerDigest: COMMIT,
      runnerEnvironment: "github-hosted",
      sourceRepositoryUri: "https://github.com/actions/attest-demo",
      sourceRepositoryDigest: COMMIT,
      sourceRepositoryRef: "refs/heads/main",
      sourceRepositoryId: "763287532",
      sourceRepositoryOwnerUri: "https://github.com/actions",
      sourceRepositoryOwnerId: "44036562",
      buildConfigUri: WORKFLOW,
      buildConfigDigest: COMMIT,
      buildTrigger: "workflow_dispatch",
      runInvocationUri: "https://github.com/actions/attest-demo/actions/runs/8788389601/attempts/1",
      sourceRepositoryVisibility: "private",
    });
  });

  it("passes the right policy on those fields and fails each wrong one", () => {
    expect(checkPolicy(policy, identity, statement, DIGEST)).toBeUndefined();
    const wrong: Array<[Partial<ProvenancePolicy>, string]> = [
      [{ commit: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432" }, "commit"],
      [{ repositoryId: "1" }, "repository id"],
      [{ ref: "refs/heads/release" }, "workflow"],
      [{ triggers: ["push"] }, "trigger"],
      [{ runner: "self-hosted" }, "runner"],
    ];
    for (const [change, check] of wrong)
      expect(checkPolicy({ ...policy, ...change }, identity, statement, DIGEST)?.check).toBe(check);
    expect(checkPolicy(policy, identity, statement, `sha256:${"0".repeat(64)}`)?.check).toBe("subject");
  });

  it("is not verified against the roots at hand: GitHub's instance CA is in none of them", () => {
    const cliRoot = parseTrustedRoots(fixture("cli-cli-trusted_root.json"), "cli/cli trusted_root.json");
    const verdict = verifyAttestations([bundle], DIGEST, policy, [publicGoodRoot(), ...cliRoot]);
    expect(verdict).toMatchObject({ status: "unverified", check: "certificate authority" });
    expect(verdict.status === "unverified" && verdict.reason).toContain(publicGoodRoot().name);
  });
});

// Real GitHub output from its own Sigstore instance (private repositories: fulcio.githubapp.com, RFC 3161
// timestamps from timestamp.githubapp.com, no log), from the GitHub CLI's test data (see
// test/fixtures/provenance/README.md), verified fully offline against the root shipped in
// src/provenance/roots/github.ts: signature, certificate chain and timestamp, then the policy on every
// certificate field. These bundles come from cli/cli, not from where the root was copied, so their
// verifying is what corroborates that copy (github-root.test.ts checks its bytes and chains).
//  - `github_provenance_demo` 0.0.12 (2024-04-22): a build of a private repository, leaf issued by
//    GitHub's Fulcio Intermediate l2 of 2023, timestamped by its first TSA.
//  - `github_release_bundle` (2025-05-30): a release attestation GitHub itself made, leaf issued by
//    Fulcio Intermediate l1 (no workflow identity), timestamped by the TSA of 2024-10.
import { readFileSync } from "node:fs";
import { X509Certificate } from "@sigstore/core";
import { bundleFromJSON } from "@sigstore/bundle";
import { Verifier, toSignedEntity } from "@sigstore/verify";
import { describe, expect, it } from "vitest";
import {
  checkPolicy,
  githubRoot,
  parseTrustedRoots,
  publicGoodRoot,
  signerIdentity,
  trustRoots,
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

describe("github_provenance_demo 0.0.12 (a private repository's build on GitHub's instance)", () => {
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

  it("verifies fully offline against the shipped roots, picked by the leaf's issuer: GitHub's", () => {
    expect(verifyAttestations([bundle], DIGEST, policy, trustRoots())).toEqual({
      status: "verified",
      digest: DIGEST,
      link: "https://github.com/actions/attest-demo/actions/runs/8788389601/attempts/1",
      signer: WORKFLOW,
      root: githubRoot().name,
      attester: {
        repository: "actions/attest-demo",
        repositoryId: "763287532",
        workflow: "actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main",
        signer: "actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main",
        commit: COMMIT,
        ref: "refs/heads/main",
        trigger: "workflow_dispatch",
        runner: "github-hosted",
      },
    });
  });

  it.each([
    [
      "another commit",
      { commit: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432" },
      "commit",
      "source digest is a6c23b9, the build commit is 9f8e7d6",
    ],
    [
      "another repository id",
      { repositoryId: "1" },
      "repository id",
      'built from repository id "763287532", expected 1',
    ],
    [
      "a push build required",
      { triggers: ["push"] },
      "trigger",
      'the build was triggered by "workflow_dispatch", allowed: push',
    ],
    [
      "self-hosted required",
      { runner: "self-hosted" as const },
      "runner",
      "the build ran on a github-hosted runner, self-hosted required",
    ],
  ])("fails, after the signature verified, with the wrong policy: %s", (_what, change, check, reason) => {
    expect(verifyAttestations([bundle], DIGEST, { ...policy, ...change }, trustRoots())).toEqual({
      status: "unverified",
      digest: DIGEST,
      check,
      reason,
    });
  });

  it("[fault:provenance-tampered] fails when the payload was changed after signing", () => {
    const tampered = structuredClone(bundle);
    const statement = JSON.parse(Buffer.from(tampered.dsseEnvelope.payload, "base64").toString("utf8"));
    statement.predicate.buildDefinition.externalParameters.workflow.ref = "refs/heads/evil";
    tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString("base64");
    expect(verifyAttestations([tampered], DIGEST, policy, trustRoots())).toEqual({
      status: "unverified",
      digest: DIGEST,
      check: "signature",
      reason: `signature verification failed (against ${githubRoot().name})`,
    });
  });

  it("[fault:provenance-untimed] fails without its RFC 3161 timestamp: GitHub's instance keeps no log to stand in for it", () => {
    const untimed = structuredClone(bundle) as { verificationMaterial: Record<string, unknown> };
    delete untimed.verificationMaterial.timestampVerificationData;
    expect(verifyAttestations([untimed], DIGEST, policy, trustRoots())).toMatchObject({
      check: "signature",
      reason: expect.stringContaining(`no RFC 3161 timestamp, which ${githubRoot().name} requires`),
    });
  });

  it("fails against a GitHub root without the CA generation that issued it (the l2 of 2023)", () => {
    const json = structuredClone(githubRoot().json);
    json.certificateAuthorities.splice(0, 1); // the same names remain, with later keys and dates
    const without = parseTrustedRoots(JSON.stringify(json), "GitHub root without its 2023 CA");
    expect(verifyAttestations([bundle], DIGEST, policy, without)).toEqual({
      status: "unverified",
      digest: DIGEST,
      check: "signature",
      reason: "Failed to verify certificate chain (against GitHub root without its 2023 CA)",
    });
  });

  it("[fault:provenance-unknown-ca] says which CA is missing when no given root holds it", () => {
    const cliRoot = parseTrustedRoots(fixture("cli-cli-trusted_root.json"), "cli/cli trusted_root.json");
    expect(verifyAttestations([bundle], DIGEST, policy, [publicGoodRoot(), ...cliRoot])).toEqual({
      status: "unverified",
      digest: DIGEST,
      check: "certificate authority",
      reason: `the certificate's issuer "O=GitHub, Inc., CN=Fulcio Intermediate l2" is a CA of no trusted root (${publicGoodRoot().name}, cli/cli trusted_root.json)`,
    });
  });
});

describe("github_release_bundle (a release attestation GitHub made itself, 2025-05-30)", () => {
  const release: { dsseEnvelope: { payload: string } } = JSON.parse(fixture("github_release_bundle.json"));
  // artifact.zip, one of the statement's two subjects.
  const ARTIFACT = "sha256:e15b593c6ab8d7725a3cc82226ef816cac6bf9c70eed383bd459295cc65f5ec3";

  it("verifies cryptographically against GitHub's root: a leaf issued by Fulcio Intermediate l1, a 2024 TSA", () => {
    const { identity } = new Verifier(githubRoot().material, {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 1,
    }).verify(toSignedEntity(bundleFromJSON(release)));
    expect(identity?.subjectAlternativeName).toBe("https://dotcom.releases.github.com");
  });

  it("gets past the signature to the policy, which refuses it: no GitHub Actions workflow signed it", () => {
    expect(verifyAttestations([release], ARTIFACT, policy, trustRoots())).toEqual({
      status: "unverified",
      digest: ARTIFACT,
      check: "issuer",
      reason:
        "the certificate's OIDC issuer is missing, not GitHub Actions (https://token.actions.githubusercontent.com)",
    });
  });

  it("fails at the signature when its statement was changed (the release tag v6 made v7)", () => {
    const tampered = structuredClone(release);
    const text = Buffer.from(tampered.dsseEnvelope.payload, "base64").toString("utf8");
    tampered.dsseEnvelope.payload = Buffer.from(text.replaceAll("v6", "v7")).toString("base64");
    expect(verifyAttestations([tampered], ARTIFACT, policy, trustRoots())).toMatchObject({
      check: "signature",
      reason: `signature verification failed (against ${githubRoot().name})`,
    });
  });
});

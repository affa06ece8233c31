// Real GitHub output: sigstore-js 2.1.0's provenance, made by GitHub Actions on public-good Sigstore
// (from the GitHub CLI's test data, see test/fixtures/provenance/README.md), verified offline against
// cli/cli's trusted root and against the roots shipped with the package.
import { readFileSync } from "node:fs";
import { X509Certificate } from "@sigstore/core";
import { describe, expect, it } from "vitest";
import {
  parseTrustedRoots,
  publicGoodRoot,
  signerIdentity,
  trustRoots,
  verifyAttestations,
  type ProvenancePolicy,
} from "../../src/provenance/index.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/provenance/${name}`, import.meta.url), "utf8");
const bundle: { verificationMaterial: { certificate: { rawBytes: string } } } = JSON.parse(
  fixture("sigstore-js-2.1.0-bundle.json"),
);
const roots = parseTrustedRoots(fixture("cli-cli-trusted_root.json"), "cli/cli trusted_root.json");
// The npm tarball's digest, the statement's subject.
const DIGEST =
  "sha512:90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f";
const COMMIT = "26d16513386ffaa790b1c32f927544f1322e4194";
const policy: ProvenancePolicy = {
  repository: "sigstore/sigstore-js",
  repositoryId: "495574555",
  workflow: "release.yml",
  ref: "refs/heads/main",
  commit: COMMIT,
  triggers: ["push"],
  runner: "github-hosted",
};

describe("sigstore-js 2.1.0's GitHub Actions attestation", () => {
  it("reads every identity field from the certificate", () => {
    const cert = X509Certificate.parse(
      Buffer.from(bundle.verificationMaterial.certificate.rawBytes, "base64"),
    );
    expect(signerIdentity(cert)).toEqual({
      san: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
      issuer: "https://token.actions.githubusercontent.com",
      buildSignerUri: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
      buildSignerDigest: COMMIT,
      runnerEnvironment: "github-hosted",
      sourceRepositoryUri: "https://github.com/sigstore/sigstore-js",
      sourceRepositoryDigest: COMMIT,
      sourceRepositoryRef: "refs/heads/main",
      sourceRepositoryId: "495574555",
      sourceRepositoryOwnerUri: "https://github.com/sigstore",
      sourceRepositoryOwnerId: "71096353",
      buildConfigUri: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
      buildConfigDigest: COMMIT,
      buildTrigger: "push",
      runInvocationUri: "https://github.com/sigstore/sigstore-js/actions/runs/6014488666/attempts/1",
      sourceRepositoryVisibility: "public",
    });
  });

  it("verifies offline against cli/cli's trusted root and against the root shipped with the package", () => {
    const expected = {
      status: "verified",
      digest: DIGEST,
      link: "https://github.com/sigstore/sigstore-js/actions/runs/6014488666/attempts/1",
      signer: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
      // Who built it, as the release notes list it: every value from GitHub's certificate.
      attester: {
        repository: "sigstore/sigstore-js",
        repositoryId: "495574555",
        workflow: "sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        signer: "sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        commit: COMMIT,
        ref: "refs/heads/main",
        trigger: "push",
        runner: "github-hosted",
      },
    };
    expect(verifyAttestations([bundle], DIGEST, policy, roots)).toEqual({
      ...expected,
      root: "cli/cli trusted_root.json",
    });
    expect(verifyAttestations([bundle], DIGEST, policy, [publicGoodRoot()])).toMatchObject(expected);
    // By default both shipped roots are at hand; the leaf's issuer picks public-good's.
    expect(verifyAttestations([bundle], DIGEST, policy, trustRoots())).toEqual({
      ...expected,
      root: publicGoodRoot().name,
    });
  });

  it.each([
    [
      "another commit",
      { commit: "1a2b3c4d5e6f00112233445566778899aabbccdd" },
      "commit",
      "source digest is 26d1651, the build commit is 1a2b3c4",
    ],
    [
      "another repository id",
      { repositoryId: "1" },
      "repository id",
      'built from repository id "495574555", expected 1',
    ],
    [
      "another workflow",
      { workflow: "ci.yml" },
      "workflow",
      'signed by "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main", expected https://github.com/sigstore/sigstore-js/.github/workflows/ci.yml@refs/heads/main',
    ],
    [
      "self-hosted required",
      { runner: "self-hosted" as const },
      "runner",
      "the build ran on a github-hosted runner, self-hosted required",
    ],
  ])("fails with the wrong policy: %s", (_what, change, check, reason) => {
    expect(verifyAttestations([bundle], DIGEST, { ...policy, ...change }, roots)).toEqual({
      status: "unverified",
      digest: DIGEST,
      check,
      reason,
    });
  });

  it("fails for another digest, and when a byte of the log entry changed", () => {
    expect(verifyAttestations([bundle], `sha512:${"0".repeat(128)}`, policy, roots)).toMatchObject({
      check: "subject",
    });
    const tampered = structuredClone(bundle) as unknown as {
      verificationMaterial: { tlogEntries: { integratedTime: string }[] };
    };
    tampered.verificationMaterial.tlogEntries[0]!.integratedTime = "1693323624";
    expect(verifyAttestations([tampered], DIGEST, policy, roots)).toMatchObject({
      status: "unverified",
      check: "signature",
    });
  });
});

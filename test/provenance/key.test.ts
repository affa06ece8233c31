// Bundles signed with a builder's key (no certificate): verified by sigstore-js against the configured
// public key, found by the bundle's key hint; each way one can fail says which check failed.
import { describe, expect, it } from "vitest";
import { verifyKeySigned } from "../../src/provenance/index.js";
import { DIGEST, builderKey, provenanceStatement, signWithKey } from "../helpers/sigstore.js";

const nix = builderKey();
const policy = { pem: nix.pem, where: ".github/keys/nix.pem", hint: "nix" };

describe("verifyKeySigned", () => {
  it("verifies a statement about the digest signed with the builder's key", () => {
    const bundle = signWithKey(nix.privateKey, "nix", provenanceStatement(DIGEST));
    expect(verifyKeySigned([bundle], DIGEST, policy)).toEqual({
      status: "verified",
      digest: DIGEST,
      link: undefined,
      signer: "key nix",
      root: ".github/keys/nix.pem",
    });
  });

  it("[fault:builders-k-of-n] refuses another key, an edited payload, another digest and an unusable key file", () => {
    const other = builderKey();
    const signedByOther = signWithKey(other.privateKey, "nix", provenanceStatement(DIGEST));
    expect(verifyKeySigned([signedByOther], DIGEST, policy)).toMatchObject({
      status: "unverified",
      check: "signature",
      reason: "signature verification failed",
    });

    const tampered = signWithKey(nix.privateKey, "nix", provenanceStatement(DIGEST)) as {
      dsseEnvelope: { payload: string };
    };
    const edited = provenanceStatement(`sha256:${"cd".repeat(32)}`);
    tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(edited)).toString("base64");
    expect(verifyKeySigned([tampered], `sha256:${"cd".repeat(32)}`, policy)).toMatchObject({
      check: "signature",
    });

    const elsewhere = signWithKey(nix.privateKey, "nix", provenanceStatement(`sha256:${"ef".repeat(32)}`));
    expect(verifyKeySigned([elsewhere], DIGEST, policy)).toMatchObject({
      check: "subject",
      reason: `the attestation is not about ${DIGEST}`,
    });

    const good = signWithKey(nix.privateKey, "nix", provenanceStatement(DIGEST));
    expect(verifyKeySigned([good], DIGEST, { ...policy, pem: "not a key" })).toMatchObject({
      check: "key",
      reason: expect.stringMatching(/^\.github\/keys\/nix\.pem: not a public key \(/),
    });
    expect(verifyKeySigned([], DIGEST, policy)).toMatchObject({
      check: "attestation",
      reason: `no attestation found for ${DIGEST}`,
    });
  });
});

// Bundles signed with a plain key rather than a Fulcio certificate: a builder outside GitHub Actions (a
// homelab Nix builder) signs its in-toto statement with its own key. sigstore-js verifies the signature
// against public-key trust material found by the bundle's key hint; the only identity is the key, so
// what is checked after the crypto is the statement: in-toto v1, about this digest.
import { createPublicKey } from "node:crypto";
import { bundleFromJSON, type Bundle } from "@sigstore/bundle";
import { Verifier, toSignedEntity, type TrustMaterial } from "@sigstore/verify";
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1, hasSubject, parseStatement } from "./statement.js";
import type { Verdict } from "./verify.js";

export type KeyPolicy = {
  /** The builder's public key (PEM, SPKI). */
  pem: string;
  /** Where the key came from, for messages (`.github/keys/nix.pem`). */
  where: string;
  /** The hint the builder's bundles name their key by. */
  hint: string;
};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Trust material that knows one key, under one hint, and no certificate authority or log. */
function keyMaterial(policy: KeyPolicy): TrustMaterial {
  const publicKey = createPublicKey(policy.pem);
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (hint) => {
      if (hint !== policy.hint)
        throw new Error(`signed with the key "${hint}", expected "${policy.hint}" (${policy.where})`);
      return { publicKey, validFor: () => true };
    },
  };
}

type Failure = { check: string; reason: string; stage: number };

function verifyOne(json: unknown, digest: string, material: TrustMaterial): Failure | undefined {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (err) {
    return { check: "bundle", reason: `not a Sigstore bundle (${message(err)})`, stage: 0 };
  }
  if (bundle.verificationMaterial.content.$case !== "publicKey")
    return { check: "bundle", reason: "signed with a certificate, not the builder's key", stage: 0 };
  if (
    bundle.content.$case !== "dsseEnvelope" ||
    bundle.content.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE
  )
    return { check: "bundle", reason: "not a DSSE envelope of an in-toto statement", stage: 0 };
  try {
    // No log and no timestamp authority: the key alone vouches for the statement.
    new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
      toSignedEntity(bundle),
    );
  } catch (err) {
    return { check: "signature", reason: message(err), stage: 1 };
  }
  const statement = parseStatement(Buffer.from(bundle.content.dsseEnvelope.payload));
  if (typeof statement === "string") return { check: "statement", reason: statement, stage: 2 };
  if (statement._type !== IN_TOTO_STATEMENT_V1)
    return { check: "statement", reason: `the statement type is "${statement._type}"`, stage: 2 };
  if (!hasSubject(statement, digest))
    return { check: "subject", reason: `the attestation is not about ${digest}`, stage: 3 };
  return undefined;
}

/** The verdict on `digest` from every bundle found for it, for a builder that signs with a key. */
export function verifyKeySigned(bundles: readonly unknown[], digest: string, policy: KeyPolicy): Verdict {
  if (bundles.length === 0)
    return {
      status: "unverified",
      digest,
      check: "attestation",
      reason: `no attestation found for ${digest}`,
    };
  let material: TrustMaterial;
  try {
    material = keyMaterial(policy);
  } catch (err) {
    return {
      status: "unverified",
      digest,
      check: "key",
      reason: `${policy.where}: not a public key (${message(err)})`,
    };
  }
  let best: Failure | undefined;
  for (const json of bundles) {
    const failure = verifyOne(json, digest, material);
    if (failure === undefined)
      return {
        status: "verified",
        digest,
        link: undefined,
        signer: `key ${policy.hint}`,
        root: policy.where,
      };
    if (best === undefined || failure.stage > best.stage) best = failure;
  }
  return { status: "unverified", digest, check: best!.check, reason: best!.reason };
}

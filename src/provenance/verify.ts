// Verify Sigstore bundles for one digest: cryptographically with sigstore-js against a trusted root,
// then the policy on what the certificate says (policy.ts). One bundle that passes is enough; when
// none does, the failure that got furthest is the one reported.
import { bundleFromJSON, type Bundle } from "@sigstore/bundle";
import { X509Certificate } from "@sigstore/core";
import { Verifier, toSignedEntity } from "@sigstore/verify";
import {
  CertificateFieldError,
  distinguishedName,
  signerIdentity,
  type SignerIdentity,
} from "./certificate.js";
import { checkPolicy, type ProvenancePolicy } from "./policy.js";
import type { TrustRoot } from "./roots.js";
import { IN_TOTO_PAYLOAD_TYPE, parseStatement } from "./statement.js";
import { signatureThread, type Thresholds } from "./thread.js";

/**
 * Who built and attested a digest, as its certificate says (never its predicate). GitHub URLs are
 * shortened to what people type: `owner/name`, `owner/name/.github/workflows/f.yml@ref`.
 */
export type Attester = {
  /** Source Repository URI. */
  repository: string;
  /** Source Repository Identifier (numeric). */
  repositoryId?: string;
  /** The workflow that ran (Build Config URI), at its ref. */
  workflow?: string;
  /** The workflow that signed (SAN): `workflow` itself, or a reusable workflow it called. */
  signer: string;
  /** Source Repository Digest: the commit that was built. */
  commit: string;
  /** Source Repository Ref. */
  ref: string;
  /** Build Trigger: the event that started the run. */
  trigger: string;
  /** Runner Environment: `github-hosted` or `self-hosted`. */
  runner?: string;
};

export type Verdict = (
  | {
      status: "verified";
      digest: string;
      /** The build run, from the certificate's Run Invocation URI: the link people follow. */
      link: string | undefined;
      /** The workflow that signed (the certificate's SAN). */
      signer: string;
      root: string;
      /** Who built and attested it, from the certificate; absent for a bundle signed with a builder's key. */
      attester?: Attester;
    }
  | { status: "unverified"; digest: string; check: string; reason: string }
) & {
  /** `gh attestation verify …` as an argument list: anyone can check the digest against the same policy. */
  command?: readonly string[];
};

type Failure = {
  check: string;
  reason: string;
  /** How far the bundle got: a later stage is the better explanation. */ stage: number;
};
const STAGE = { bundle: 0, authority: 1, crypto: 2, certificate: 3, policy: 4 } as const;

function leafCertificate(bundle: Bundle): X509Certificate | undefined {
  const material = bundle.verificationMaterial.content;
  if (material.$case === "certificate")
    return X509Certificate.parse(Buffer.from(material.certificate.rawBytes));
  if (material.$case === "x509CertificateChain") {
    const first = material.x509CertificateChain.certificates[0];
    return first ? X509Certificate.parse(Buffer.from(first.rawBytes)) : undefined;
  }
  return undefined;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

const isFailure = (x: object): x is Failure => "stage" in x;

type Verified = Omit<Extract<Verdict, { status: "verified" }>, "status" | "digest" | "command">;

/** A bundle read far enough to check its signature: its leaf certificate and the roots that issue it. */
type Readable = { json: unknown; bundle: Bundle; leaf: X509Certificate; candidates: TrustRoot[] };

function read(json: unknown, roots: readonly TrustRoot[]): Failure | Readable {
  let bundle: Bundle;
  let leaf: X509Certificate | undefined;
  try {
    bundle = bundleFromJSON(json);
    leaf = leafCertificate(bundle);
  } catch (err) {
    return { check: "bundle", reason: `not a Sigstore bundle (${message(err)})`, stage: STAGE.bundle };
  }
  if (
    bundle.content.$case !== "dsseEnvelope" ||
    bundle.content.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE
  ) {
    return { check: "bundle", reason: "not a DSSE envelope of an in-toto statement", stage: STAGE.bundle };
  }
  if (leaf === undefined) {
    return {
      check: "bundle",
      reason: "signed with a key, not a Fulcio certificate: no workflow identity",
      stage: STAGE.bundle,
    };
  }
  const issuer = leaf.issuer;
  const candidates = roots.filter((r) => r.issuers.some((s) => s.equals(issuer)));
  if (candidates.length === 0) {
    const names = roots.map((r) => r.name).join(", ");
    return {
      check: "certificate authority",
      reason: `the certificate's issuer "${distinguishedName(issuer)}" is a CA of no trusted root (${names})`,
      stage: STAGE.authority,
    };
  }
  return { json, bundle, leaf, candidates };
}

/**
 * What sigstore-js is asked to find for `root`, or why the bundle cannot pass against it. A log
 * entry's integrated time counts as a timestamp too; a root without logs (GitHub's instance) therefore
 * needs an RFC 3161 timestamp of its own, checked here rather than through the threshold.
 */
function thresholdsFor(root: TrustRoot, bundle: Bundle): Thresholds | string {
  const { tlog, ctlog, timestamps } = root.thresholds;
  const tsa = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (tlog === 0 && tsa === 0)
    return `no RFC 3161 timestamp, which ${root.name} requires (it keeps no transparency log)`;
  return { tlogThreshold: tlog, ctlogThreshold: ctlog, timestampThreshold: timestamps };
}

/** The signature check in this thread: undefined when it passes. */
function checkHere(bundle: Bundle, root: TrustRoot, thresholds: Thresholds): string | undefined {
  try {
    new Verifier(root.material, thresholds).verify(toSignedEntity(bundle));
    return undefined;
  } catch (err) {
    return message(err);
  }
}

const signatureFailure = (reason: string, root: TrustRoot): Failure => ({
  check: "signature",
  reason: `${reason} (against ${root.name})`,
  stage: STAGE.crypto,
});

/** A signature check the verdict needs: one bundle against one root's thresholds. */
type SignatureCheck = { r: Readable; root: TrustRoot; thresholds: Thresholds };

/**
 * The verdict, written once as steps: it yields each signature check it needs and is given back that
 * check's problem (undefined when the signature holds). verifyAttestations answers in this thread,
 * verifyAttestationsOffThread from the signature thread; the loops and their order are these.
 */
function* verdictSteps(
  bundles: readonly unknown[],
  digest: string,
  policy: ProvenancePolicy,
  roots: readonly TrustRoot[],
): Generator<SignatureCheck, Verdict, string | undefined> {
  if (bundles.length === 0) return noAttestation(digest);
  const failures: Failure[] = [];
  for (const json of bundles) {
    const r = read(json, roots);
    const result = isFailure(r) ? r : judge(r, yield* signedBy(r), digest, policy);
    if (!isFailure(result)) return { status: "verified", digest, ...result };
    failures.push(result);
  }
  return bestFailure(failures, digest, bundles.length);
}

/** The first root the signature verifies against, or the first root's failure. */
function* signedBy(r: Readable): Generator<SignatureCheck, TrustRoot | Failure, string | undefined> {
  let failure: Failure | undefined;
  for (const root of r.candidates) {
    const thresholds = thresholdsFor(root, r.bundle);
    const problem = typeof thresholds === "string" ? thresholds : yield { r, root, thresholds };
    if (problem === undefined) return root;
    failure ??= signatureFailure(problem, root);
  }
  return failure!;
}

/** What the certificate and statement of a bundle whose signature passed say, against the policy. */
function judge(
  r: Readable,
  signed: TrustRoot | Failure,
  digest: string,
  policy: ProvenancePolicy,
): Failure | Verified {
  if (isFailure(signed)) return signed;
  const root = signed;
  let identity;
  try {
    identity = signerIdentity(r.leaf);
  } catch (err) {
    if (!(err instanceof CertificateFieldError)) throw err;
    return { check: "certificate", reason: err.message, stage: STAGE.certificate };
  }
  if (r.bundle.content.$case !== "dsseEnvelope") throw new Error("read() admits DSSE envelopes only");
  const statement = parseStatement(Buffer.from(r.bundle.content.dsseEnvelope.payload));
  if (typeof statement === "string")
    return { check: "statement", reason: statement, stage: STAGE.certificate };
  const failure = checkPolicy(policy, identity, statement, digest);
  if (failure !== undefined) return { ...failure, stage: STAGE.policy };
  return {
    link: identity.runInvocationUri,
    signer: identity.san ?? "",
    root: root.name,
    attester: attesterOf(identity),
  };
}

const GITHUB = /^https:\/\/github\.com\//;
const shorten = (uri: string) => uri.replace(GITHUB, "");

/** What a certificate that passed the policy says about its build (the policy has made these present). */
function attesterOf(id: SignerIdentity): Attester {
  const optional = (key: "repositoryId" | "workflow" | "runner", value: string | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    repository: shorten(id.sourceRepositoryUri ?? ""),
    ...optional("repositoryId", id.sourceRepositoryId),
    ...optional("workflow", id.buildConfigUri && shorten(id.buildConfigUri)),
    signer: shorten(id.san ?? ""),
    commit: id.sourceRepositoryDigest ?? "",
    ref: id.sourceRepositoryRef ?? "",
    trigger: id.buildTrigger ?? "",
    ...optional("runner", id.runnerEnvironment),
  };
}

const noAttestation = (digest: string): Verdict => ({
  status: "unverified",
  digest,
  check: "attestation",
  reason: `no attestation found for ${digest}`,
});

/** The failure that got furthest, when no bundle passed. */
function bestFailure(failures: Failure[], digest: string, count: number): Verdict {
  const best = failures.reduce((a, b) => (b.stage > a.stage ? b : a));
  const of = count === 1 ? "" : ` (best of ${count} attestations)`;
  return { status: "unverified", digest, check: best.check, reason: best.reason + of };
}

/** The verdict on `digest` ("sha256:<hex>") from every attestation found for it. */
export function verifyAttestations(
  bundles: readonly unknown[],
  digest: string,
  policy: ProvenancePolicy,
  roots: readonly TrustRoot[],
): Verdict {
  const steps = verdictSteps(bundles, digest, policy, roots);
  for (let step = steps.next(); ;) {
    if (step.done) return step.value;
    const { r, root, thresholds } = step.value;
    step = steps.next(checkHere(r.bundle, root, thresholds));
  }
}

/**
 * verifyAttestations, with the signature checks in a worker thread (thread.ts) so that a plan's own
 * thread keeps answering the registry meanwhile. The same verdict, word for word; where there is no
 * thread, or it gives no answer, the check runs here.
 */
export async function verifyAttestationsOffThread(
  bundles: readonly unknown[],
  digest: string,
  policy: ProvenancePolicy,
  roots: readonly TrustRoot[],
): Promise<Verdict> {
  const steps = verdictSteps(bundles, digest, policy, roots);
  for (let step = steps.next(); ;) {
    if (step.done) return step.value;
    const { r, root, thresholds } = step.value;
    const answer = await signatureThread()?.check(r.json, root, thresholds);
    step = steps.next(
      answer === undefined ? checkHere(r.bundle, root, thresholds) : answer.ok ? undefined : answer.message,
    );
  }
}

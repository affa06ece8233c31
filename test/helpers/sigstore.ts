// A Sigstore instance of our own for tests, with real crypto and no network: a Fulcio-like CA issuing
// certificates with the real Fulcio OID extensions and an RFC 3161 timestamp authority (both from
// @sigstore/mock, used as libraries, never as nock-mocked servers), its trusted root, and bundles signed
// for real with an ephemeral key — shaped like GitHub's instance for private repositories (no log).
// Times: the mock TSA dates its own certificate now, so its clock is the next whole second (whole,
// because sigstore-js reads no fractional seconds in a GeneralizedTime); the CA's leaves start a minute
// before now and last ten, so they hold that instant.
import crypto from "node:crypto";
import { initializeCA, type CA } from "@sigstore/mock/dist/fulcio/ca.js";
import { initializeTSA, type TSA } from "@sigstore/mock/dist/timestamp/tsa.js";

const SHA256_OID = "2.16.840.1.101.3.4.2.1";
const b64 = (b: Buffer | Uint8Array) => Buffer.from(b).toString("base64");
const ecKeys = () => crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });

export type TestInstance = { ca: CA; tsa: TSA; trustedRoot: string };

export async function testInstance(): Promise<TestInstance> {
  const ca = await initializeCA(ecKeys(), undefined, new Date(Date.now() - 60_000));
  const tsa = await initializeTSA(ecKeys(), new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000));
  const start = new Date(Date.now() - 86_400_000).toISOString();
  const trustedRoot = JSON.stringify({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [
      {
        subject: { organization: "sigstore.mock", commonName: "sigstore" },
        uri: "https://fulcio.test",
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: "sigstore.mock", commonName: "tsa" },
        uri: "https://tsa.test",
        certChain: {
          certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }],
        },
        validFor: { start },
      },
    ],
  });
  return { ca, tsa, trustedRoot };
}

export const REPO = "acme/platform";
export const REPO_ID = "123456789";
export const COMMIT = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";
export const DIGEST = `sha256:${"ab".repeat(32)}`;
export const WORKFLOW_URI = `https://github.com/${REPO}/.github/workflows/images.yml@refs/heads/main`;

/** The certificate fields of a good build of COMMIT by images.yml on main; override any to break one. */
export function buildClaims(): Record<string, string | undefined> {
  return {
    san: WORKFLOW_URI,
    "8": "https://token.actions.githubusercontent.com",
    "9": WORKFLOW_URI,
    "11": "github-hosted",
    "12": `https://github.com/${REPO}`,
    "13": COMMIT,
    "14": "refs/heads/main",
    "15": REPO_ID,
    "18": WORKFLOW_URI,
    "20": "push",
    "21": `https://github.com/${REPO}/actions/runs/42/attempts/1`,
  };
}

export function provenanceStatement(digest = DIGEST): Record<string, unknown> {
  const [algorithm, hex] = digest.split(":") as [string, string];
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: `ghcr.io/${REPO}/api`, digest: { [algorithm]: hex } }],
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: { buildDefinition: { buildType: "https://actions.github.io/buildtypes/workflow/v1" } },
  };
}

export type SignOptions = {
  claims?: Record<string, string | undefined>;
  statement?: Record<string, unknown>;
  /** Extensions .1.1–.1.6 in their legacy raw encoding instead of .1.8+. */
  legacy?: Record<string, string>;
};

/** A v0.3 bundle: a DSSE envelope over the statement, signed by a fresh key certified by the CA, timestamped. */
export async function signBundle(
  instance: TestInstance,
  options: SignOptions = {},
): Promise<Record<string, unknown>> {
  const claims = options.claims ?? buildClaims();
  const keys = ecKeys();
  const extensions = Object.entries(claims)
    .filter((e): e is [string, string] => e[0] !== "san" && e[1] !== undefined)
    .map(([n, value]) => ({ oid: `1.3.6.1.4.1.57264.1.${n}`, value }));
  for (const [n, value] of Object.entries(options.legacy ?? {})) {
    extensions.push({ oid: `1.3.6.1.4.1.57264.1.${n}`, value, legacy: true } as (typeof extensions)[number]);
  }
  const cert = await instance.ca.issueCertificate({
    publicKey: keys.publicKey.export({ type: "spki", format: "der" }),
    subjectAltName: claims.san ?? "",
    extensions,
  });
  const payloadType = "application/vnd.in-toto+json";
  const payload = Buffer.from(JSON.stringify(options.statement ?? provenanceStatement()));
  const pae = Buffer.concat([
    Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
    payload,
  ]);
  const sig = crypto.sign("sha256", pae, keys.privateKey);
  const timestamp = await instance.tsa.timestamp({
    artifactHash: crypto.createHash("sha256").update(sig).digest(),
    hashAlgorithmOID: SHA256_OID,
    nonce: 7,
    policyOID: "1.2.3.4",
  });
  return {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: {
      certificate: { rawBytes: b64(cert) },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: b64(timestamp) }] },
    },
    dsseEnvelope: { payload: b64(payload), payloadType, signatures: [{ sig: b64(sig), keyid: "" }] },
  };
}

/** A key pair of a builder that signs with a key (a homelab Nix builder): the public key as PEM. */
export function builderKey(): { pem: string; privateKey: crypto.KeyObject } {
  const keys = ecKeys();
  return {
    pem: keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKey: keys.privateKey,
  };
}

/** A v0.3 bundle signed with `privateKey` and naming its key by `hint`: no certificate, no log, no timestamp. */
export function signWithKey(
  privateKey: crypto.KeyObject,
  hint: string,
  statement: Record<string, unknown>,
): Record<string, unknown> {
  const payloadType = "application/vnd.in-toto+json";
  const payload = Buffer.from(JSON.stringify(statement));
  const pae = Buffer.concat([
    Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
    payload,
  ]);
  return {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { publicKey: { hint }, tlogEntries: [] },
    dsseEnvelope: {
      payload: b64(payload),
      payloadType,
      signatures: [{ sig: b64(crypto.sign("sha256", pae, privateKey)), keyid: hint }],
    },
  };
}

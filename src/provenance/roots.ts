// The trust anchors a bundle is verified against: Sigstore trusted-root documents
// (application/vnd.dev.sigstore.trustedroot+json). Two instances ship with the package, each dated:
// public-good (roots/public-good.ts: public repositories, transparency log) and GitHub's own
// (roots/github.ts: private repositories, RFC 3161 timestamps, no log). A file named by
// `provenance.trusted_root` (one document, or the JSON lines `gh attestation trusted-root` prints)
// replaces both, as gh's --custom-trusted-root does: air-gapped or custom setups trust only what they list.
import { X509Certificate as NodeX509 } from "node:crypto";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toTrustMaterial, type TrustMaterial } from "@sigstore/verify";
import { z } from "zod";
import { GITHUB_AS_OF, GITHUB_TRUSTED_ROOT } from "./roots/github.js";
import { PUBLIC_GOOD_AS_OF, PUBLIC_GOOD_TRUSTED_ROOT } from "./roots/public-good.js";

const certificateAuthority = z.looseObject({
  uri: z.string().optional(),
  certChain: z.looseObject({ certificates: z.array(z.looseObject({ rawBytes: z.string() })).min(1) }),
});
const trustedRootSchema = z.looseObject({
  mediaType: z.string().startsWith("application/vnd.dev.sigstore.trustedroot"),
  certificateAuthorities: z.array(certificateAuthority).default([]),
  tlogs: z.array(z.unknown()).default([]),
  ctlogs: z.array(z.unknown()).default([]),
  timestampAuthorities: z.array(certificateAuthority).default([]),
});
export type TrustedRootJson = z.infer<typeof trustedRootSchema>;

/** One Sigstore instance to verify against, and what its bundles must carry. */
export type TrustRoot = {
  name: string;
  json: TrustedRootJson;
  material: TrustMaterial;
  /**
   * Subjects (DER) of every certificate in each CA's chain: a leaf whose issuer is none of them is not
   * this instance's. Not only the first: GitHub's release attestations are issued by its intermediate l1.
   */
  issuers: Buffer[];
  /** Public-good logs every signature (transparency log); GitHub's instance does not and uses RFC 3161 timestamps. */
  thresholds: { tlog: number; ctlog: number; timestamps: number };
};

export class TrustedRootError extends Error {}

function toRoot(name: string, json: TrustedRootJson): TrustRoot {
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(json));
  } catch (err) {
    throw new TrustedRootError(`${name}: not a usable trusted root (${(err as Error).message})`);
  }
  return {
    name,
    json,
    material,
    issuers: material.certificateAuthorities.flatMap((ca) => ca.certChain.map((c) => c.subject)),
    thresholds: { tlog: json.tlogs.length > 0 ? 1 : 0, ctlog: json.ctlogs.length > 0 ? 1 : 0, timestamps: 1 },
  };
}

/** The documents in `text`, as written: one JSON document, or one per line. */
export function trustedRootDocuments(text: string): string[] {
  return text.trim().startsWith("{") && !/\}\s*\n\s*\{/.test(text)
    ? [text]
    : text.split("\n").filter((l) => l.trim() !== "");
}

/** Every trusted root in `text`: one JSON document, or one per line. */
export function parseTrustedRoots(text: string, where: string): TrustRoot[] {
  const documents = trustedRootDocuments(text);
  if (documents.length === 0) throw new TrustedRootError(`${where}: empty, expected a Sigstore trusted root`);
  return documents.map((doc, i) => {
    const name = documents.length === 1 ? where : `${where} line ${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(doc);
    } catch {
      throw new TrustedRootError(`${name}: not JSON`);
    }
    const parsed = trustedRootSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TrustedRootError(
        `${name}: not a Sigstore trusted root (${issue?.path.join(".") || "document"}: ${issue?.message})`,
      );
    }
    return toRoot(name, parsed.data);
  });
}

/**
 * The public-good Sigstore root shipped with this version, named with the last day TUF vouched for it:
 * a signature from a key Sigstore added after that day fails against it, and the name says why.
 */
export function publicGoodRoot(): TrustRoot {
  return toRoot(
    `public-good Sigstore (root as of ${PUBLIC_GOOD_AS_OF})`,
    trustedRootSchema.parse(PUBLIC_GOOD_TRUSTED_ROOT),
  );
}

/** GitHub's own Sigstore instance (private repositories), named with the day its copy was fetched. */
export function githubRoot(): TrustRoot {
  return toRoot(
    `GitHub's Sigstore instance (root as of ${GITHUB_AS_OF})`,
    trustedRootSchema.parse(GITHUB_TRUSTED_ROOT),
  );
}

// Parsed once: the shipped roots are constants, and every plan with `provenance:` needs them.
let shipped: TrustRoot[] | undefined;

/**
 * The roots a bundle may verify against: both shipped roots (the leaf's issuer picks one), or, when a
 * file is configured, that file's roots instead.
 */
export function trustRoots(customText?: { text: string; where: string }): TrustRoot[] {
  if (customText !== undefined) return parseTrustedRoots(customText.text, customText.where);
  shipped ??= [publicGoodRoot(), githubRoot()];
  return [...shipped];
}

/**
 * What is wrong with the certificate chains of a trusted root: each certificate must parse and be
 * signed by the next one, the last by itself. Sigstore checks a leaf against these chains, not the
 * chains themselves; a copy of a root from anywhere but its TUF repository is checked with this.
 */
export function chainProblems(json: TrustedRootJson): string[] {
  const chains = [
    ...json.certificateAuthorities.map((ca, i) => ({ where: `CA ${ca.uri ?? "?"} (#${i + 1})`, ca })),
    ...json.timestampAuthorities.map((ca, i) => ({ where: `TSA ${ca.uri ?? "?"} (#${i + 1})`, ca })),
  ];
  const name = (cert: NodeX509) => `"${cert.subject.replace(/\n/g, ", ").replace(/\\,/g, ",")}"`;
  return chains.flatMap(({ where, ca }) => {
    let certs: NodeX509[];
    try {
      certs = ca.certChain.certificates.map((c) => new NodeX509(Buffer.from(c.rawBytes, "base64")));
    } catch (err) {
      return [`${where}: a certificate does not parse (${(err as Error).message})`];
    }
    return certs.flatMap((cert, j) => {
      const issuer = certs[j + 1] ?? cert;
      return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
        ? []
        : [`${where}: ${name(cert)} is not signed by ${name(issuer)}`];
    });
  });
}

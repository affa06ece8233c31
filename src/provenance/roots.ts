// The trust anchors a bundle is verified against: Sigstore trusted-root documents
// (application/vnd.dev.sigstore.trustedroot+json). The public-good instance ships with the package
// (roots/public-good.ts, dated); GitHub's own instance (private repositories) and air-gapped or custom
// setups come from a file named by `provenance.trusted_root` (one document, or the JSON lines
// `gh attestation trusted-root` prints).
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toTrustMaterial, type TrustMaterial } from "@sigstore/verify";
import { z } from "zod";
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
  timestampAuthorities: z.array(z.unknown()).default([]),
});
export type TrustedRootJson = z.infer<typeof trustedRootSchema>;

/** One Sigstore instance to verify against, and what its bundles must carry. */
export type TrustRoot = {
  name: string;
  json: TrustedRootJson;
  material: TrustMaterial;
  /** Subjects (DER) of each CA's issuing certificate: a leaf whose issuer is none of them is not this instance's. */
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
    issuers: material.certificateAuthorities.flatMap((ca) =>
      ca.certChain[0] ? [ca.certChain[0].subject] : [],
    ),
    thresholds: { tlog: json.tlogs.length > 0 ? 1 : 0, ctlog: json.ctlogs.length > 0 ? 1 : 0, timestamps: 1 },
  };
}

/** Every trusted root in `text`: one JSON document, or one per line. */
export function parseTrustedRoots(text: string, where: string): TrustRoot[] {
  const documents =
    text.trim().startsWith("{") && !/\}\s*\n\s*\{/.test(text)
      ? [text]
      : text.split("\n").filter((l) => l.trim() !== "");
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

/** The roots a bundle may verify against: the shipped public-good root, plus a file's when configured. */
export function trustRoots(customText?: { text: string; where: string }): TrustRoot[] {
  return customText === undefined
    ? [publicGoodRoot()]
    : [...parseTrustedRoots(customText.text, customText.where)];
}

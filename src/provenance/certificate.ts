// What a Fulcio certificate says about the workflow run that signed: read from its extensions only
// (OIDs 1.3.6.1.4.1.57264.1.*, https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md). The
// attestation's predicate is written by the workflow itself and can claim anything; the certificate is
// written by Fulcio from GitHub's OIDC token.
import { ASN1Obj, X509Certificate } from "@sigstore/core";

const FULCIO = "1.3.6.1.4.1.57264.1.";

/** The extensions the policy reads, by their number under 1.3.6.1.4.1.57264.1. */
export const FULCIO_OIDS = {
  issuer: 8,
  buildSignerUri: 9,
  buildSignerDigest: 10,
  runnerEnvironment: 11,
  sourceRepositoryUri: 12,
  sourceRepositoryDigest: 13,
  sourceRepositoryRef: 14,
  sourceRepositoryId: 15,
  sourceRepositoryOwnerUri: 16,
  sourceRepositoryOwnerId: 17,
  buildConfigUri: 18,
  buildConfigDigest: 19,
  buildTrigger: 20,
  runInvocationUri: 21,
  sourceRepositoryVisibility: 22,
} as const;

/** The deprecated GitHub-specific extensions (.1.1–.1.6): raw bytes, not DER, and read only as fallbacks. */
const LEGACY = { issuer: 1, trigger: 2, sha: 3, repository: 5, ref: 6 } as const;

export type SignerIdentity = {
  /** The certificate's subject alternative name: the workflow that signed, `https://github.com/o/r/.github/workflows/f.yml@ref`. */
  san: string | undefined;
} & { -readonly [K in keyof typeof FULCIO_OIDS]: string | undefined };

export class CertificateFieldError extends Error {}

/** DER of a UTF8String (`0C len bytes`), the encoding Fulcio uses from .1.8 on; anything else is refused. */
function utf8String(oid: string, der: Buffer): string {
  let obj: ASN1Obj;
  try {
    obj = ASN1Obj.parseBuffer(Buffer.from(der));
  } catch {
    throw new CertificateFieldError(`certificate extension ${oid} is not valid DER`);
  }
  if (!obj.tag.isUniversal() || obj.tag.number !== 12 || obj.tag.constructed) {
    throw new CertificateFieldError(`certificate extension ${oid} is not a UTF8String`);
  }
  return obj.value.toString("utf8");
}

/** The value of each extension, keyed by OID; the OCTET STRING's content (the last child of the extension). */
function extensionValues(cert: X509Certificate): Map<string, Buffer> {
  const values = new Map<string, Buffer>();
  for (const ext of cert.extensions) {
    const oid = ext.subs[0]?.toOID();
    const value = ext.subs[ext.subs.length - 1]?.value;
    if (oid !== undefined && value !== undefined) values.set(oid, value);
  }
  return values;
}

export function signerIdentity(cert: X509Certificate): SignerIdentity {
  const values = extensionValues(cert);
  const read = (n: number): string | undefined => {
    const raw = values.get(FULCIO + n);
    return raw === undefined ? undefined : utf8String(FULCIO + n, raw);
  };
  const legacy = (n: number): string | undefined => values.get(FULCIO + n)?.toString("utf8");
  const identity = { san: cert.subjectAltName } as SignerIdentity;
  for (const [name, n] of Object.entries(FULCIO_OIDS) as [keyof typeof FULCIO_OIDS, number][]) {
    identity[name] = read(n);
  }
  // Certificates from before Fulcio's v2 extensions carry the same facts raw under .1.1–.1.6.
  identity.issuer ??= legacy(LEGACY.issuer);
  identity.buildTrigger ??= legacy(LEGACY.trigger);
  identity.sourceRepositoryDigest ??= legacy(LEGACY.sha);
  identity.sourceRepositoryRef ??= legacy(LEGACY.ref);
  const legacyRepo = legacy(LEGACY.repository);
  if (identity.sourceRepositoryUri === undefined && legacyRepo !== undefined) {
    identity.sourceRepositoryUri = `https://github.com/${legacyRepo}`;
  }
  return identity;
}

const NAME_ATTRIBUTES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
};

/** DER length octets: short form below 128, else the long form's count byte and big-endian bytes. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/**
 * An X.509 name as people read it, `O=GitHub, Inc., CN=Fulcio Intermediate l2`, from the content of
 * its SEQUENCE (what @sigstore/core's `issuer` and `subject` give); never throws.
 */
export function distinguishedName(content: Buffer): string {
  try {
    const name = Buffer.concat([Buffer.from([0x30]), derLength(content.length), content]);
    return ASN1Obj.parseBuffer(name)
      .subs.flatMap((rdn) => rdn.subs)
      .map((attribute) => {
        const oid = attribute.subs[0]!.toOID();
        return `${NAME_ATTRIBUTES[oid] ?? oid}=${attribute.subs[1]!.value.toString("utf8")}`;
      })
      .join(", ");
  } catch {
    return `(a name that is not valid DER: ${content.toString("hex")})`;
  }
}

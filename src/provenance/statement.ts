// The in-toto statement inside a DSSE envelope: what it is about (subjects and their digests) and what
// kind of claim it makes. Only these fields are read; identity comes from the certificate.
import { z } from "zod";

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";

const statementSchema = z.object({
  _type: z.string(),
  subject: z.array(z.object({ name: z.string().optional(), digest: z.record(z.string(), z.string()) })),
  predicateType: z.string(),
});

export type Statement = z.infer<typeof statementSchema>;

/** The statement, or why the payload is not one. */
export function parseStatement(payload: Buffer): Statement | string {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString("utf8"));
  } catch {
    return "the DSSE payload is not JSON";
  }
  const parsed = statementSchema.safeParse(json);
  if (!parsed.success) return "the DSSE payload is not an in-toto statement (subject, predicateType)";
  return parsed.data;
}

/** Whether a subject of the statement carries `digest` ("sha256:<hex>"). */
export function hasSubject(statement: Statement, digest: string): boolean {
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1).toLowerCase();
  return statement.subject.some((s) => s.digest[algorithm]?.toLowerCase() === hex);
}

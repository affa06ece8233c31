// Who must have built a digest, and the one check that says whether a verified certificate and statement
// match it. Pure: no crypto here (verify.ts has done that); every value compared was read from the
// certificate's Fulcio extensions, never from the predicate.
import type { SignerIdentity } from "./certificate.js";
import { IN_TOTO_STATEMENT_V1, SLSA_PROVENANCE_V1, hasSubject, type Statement } from "./statement.js";

export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";

export type RunnerEnvironment = "github-hosted" | "self-hosted" | "any";

export type ProvenancePolicy = {
  /** `owner/name` of the repository that must have built the image. */
  repository: string;
  /** Its numeric id (survives renames; a recreated repository of the same name has another). */
  repositoryId?: string | undefined;
  /** The repository's workflow file that ran the build (`images.yml`), as in `.github/workflows/`. */
  workflow: string;
  /** A reusable workflow that did the signing, `owner/repo/.github/workflows/file.yml@ref`; default: `workflow` itself. */
  signer?: string | undefined;
  /** The full ref the build ran on, `refs/heads/main`. */
  ref: string;
  /** The commit the build was of: the Source Repository Digest must be this. */
  commit: string;
  /** Events allowed to have started the build (`push`, `workflow_dispatch`…). */
  triggers: readonly string[];
  runner: RunnerEnvironment;
};

/** The first check that failed, as a person reads it. */
export type PolicyFailure = { check: string; reason: string };

const short = (sha: string | undefined) => (sha === undefined ? "missing" : sha.slice(0, 7));
const shown = (value: string | undefined) => (value === undefined ? "missing" : `"${value}"`);

export function workflowUri(repository: string, workflow: string, ref: string): string {
  return `https://github.com/${repository}/.github/workflows/${workflow}@${ref}`;
}

/**
 * Every check, in order; the first that fails is returned. String equality throughout: a SAN of
 * `…@refs/heads/main-evil` is not `…@refs/heads/main` (sigstore-js's own SAN policy is an unanchored
 * regular expression, which is why it is not used).
 */
export function checkPolicy(
  policy: ProvenancePolicy,
  id: SignerIdentity,
  statement: Statement,
  digest: string,
): PolicyFailure | undefined {
  const fail = (check: string, reason: string): PolicyFailure => ({ check, reason });
  if (id.issuer !== GITHUB_ACTIONS_ISSUER) {
    return fail(
      "issuer",
      `the certificate's OIDC issuer is ${shown(id.issuer)}, not GitHub Actions (${GITHUB_ACTIONS_ISSUER})`,
    );
  }
  const own = workflowUri(policy.repository, policy.workflow, policy.ref);
  const signer = policy.signer === undefined ? own : `https://github.com/${policy.signer}`;
  if (id.san !== signer) return fail("workflow", `signed by ${shown(id.san)}, expected ${signer}`);
  if (id.buildSignerUri !== undefined && id.buildSignerUri !== signer) {
    return fail("workflow", `the Build Signer URI is ${shown(id.buildSignerUri)}, expected ${signer}`);
  }
  // With a reusable signer, the workflow that called it must still be this repository's at the ref.
  if (policy.signer !== undefined && id.buildConfigUri !== own) {
    return fail(
      "workflow",
      `the calling workflow (Build Config URI) is ${shown(id.buildConfigUri)}, expected ${own}`,
    );
  }
  const repoUri = `https://github.com/${policy.repository}`;
  if (id.sourceRepositoryUri?.toLowerCase() !== repoUri.toLowerCase()) {
    return fail("repository", `built from ${shown(id.sourceRepositoryUri)}, expected ${repoUri}`);
  }
  if (policy.repositoryId !== undefined && id.sourceRepositoryId !== policy.repositoryId) {
    return fail(
      "repository id",
      `built from repository id ${shown(id.sourceRepositoryId)}, expected ${policy.repositoryId}`,
    );
  }
  if (id.sourceRepositoryDigest?.toLowerCase() !== policy.commit.toLowerCase()) {
    return fail(
      "commit",
      `source digest is ${short(id.sourceRepositoryDigest)}, the build commit is ${short(policy.commit)}`,
    );
  }
  if (id.sourceRepositoryRef !== policy.ref) {
    return fail("ref", `built from ref ${shown(id.sourceRepositoryRef)}, expected ${policy.ref}`);
  }
  if (id.buildTrigger === undefined || !policy.triggers.includes(id.buildTrigger)) {
    return fail(
      "trigger",
      `the build was triggered by ${shown(id.buildTrigger)}, allowed: ${policy.triggers.join(", ")}`,
    );
  }
  if (policy.runner !== "any" && id.runnerEnvironment !== policy.runner) {
    return fail(
      "runner",
      `the build ran on a ${id.runnerEnvironment ?? "unknown"} runner, ${policy.runner} required`,
    );
  }
  if (statement._type !== IN_TOTO_STATEMENT_V1) {
    return fail("statement", `the statement type is "${statement._type}", expected ${IN_TOTO_STATEMENT_V1}`);
  }
  if (statement.predicateType !== SLSA_PROVENANCE_V1) {
    return fail(
      "predicate",
      `the predicate type is "${statement.predicateType}", expected ${SLSA_PROVENANCE_V1}`,
    );
  }
  // The verifier checks the signature over the statement, not what the statement is about.
  if (!hasSubject(statement, digest)) {
    const seen = statement.subject.flatMap((s) =>
      Object.entries(s.digest).map(([a, h]) => `${a}:${h.slice(0, 12)}`),
    );
    return fail("subject", `the attestation is for ${seen.join(", ") || "no subject"}, not ${digest}`);
  }
  return undefined;
}

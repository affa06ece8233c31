// Zero-upload retag in the same repository: one GET of the source manifest, then a PUT of its exact
// bytes under each tag, so the digest cannot move. Tags already at the digest cost one HEAD each.
import { RegistryError } from "./errors.js";
import type { Fetched, Manifests } from "./manifests.js";
import type { Session } from "./session.js";
import { type Target, isValidTag, resolveTarget } from "./target.js";

export interface RetagResult {
  tag: string;
  status: "created" | "exists";
  digest: string;
}

export interface RetagOptions {
  /**
   * HEAD each tag first and leave it alone when it already points at the digest (default). With false,
   * every tag is PUT (idempotent) without looking: GET + PUT only, and every result says "created".
   */
  checkExisting?: boolean;
}

/** Some tags of a retag failed; `results` holds the ones that worked. */
export class RetagError extends RegistryError {
  constructor(
    ref: string,
    readonly results: RetagResult[],
    readonly failures: string[],
  ) {
    super(ref, `retag failed for ${failures.join("; ")}`);
    this.name = "RetagError";
  }
}

/** The source manifest, fetched once; its failure is remembered so every tag reports the same error. */
function sourceLoader(manifests: Manifests, target: Target) {
  let source: Fetched | null = null;
  let failure: unknown = null;
  return {
    isFailure: (error: unknown) => failure !== null && error === failure,
    async load(): Promise<Fetched> {
      if (failure) throw failure;
      try {
        return (source ??= await manifests.get(target, target.reference, "pull,push"));
      } catch (error) {
        failure = error;
        throw error;
      }
    },
  };
}

export async function retag(
  session: Session,
  manifests: Manifests,
  text: string,
  tags: string[],
  opts: RetagOptions = {},
): Promise<RetagResult[]> {
  const target = resolveTarget(text);
  for (const tag of tags) {
    if (!isValidTag(tag)) throw new RegistryError(text, `"${tag}" is not a valid tag`);
  }
  const checkExisting = opts.checkExisting ?? true;
  const source = sourceLoader(manifests, target);
  const results: RetagResult[] = [];
  const failures: string[] = [];
  for (const tag of [...new Set(tags)]) {
    try {
      if (checkExisting) {
        const current = await manifests.head({ ...target, reference: tag }, tag, "pull,push");
        const wanted = target.ref.digest ?? (await source.load()).manifest.digest;
        if (current === wanted) {
          results.push({ tag, status: "exists", digest: current });
          continue;
        }
      }
      results.push(await putTag(session, target, await source.load(), tag));
    } catch (error) {
      // Without the source manifest no tag can be written: one error for the image, not per tag.
      if (!(error instanceof RegistryError) || source.isFailure(error)) throw error;
      failures.push(`${tag}: ${error.detail}`);
    }
  }
  if (failures.length > 0) throw new RetagError(text, results, failures);
  return results;
}

/** PUT the source's bytes under a tag and check the digest the registry stored. */
async function putTag(session: Session, target: Target, src: Fetched, tag: string): Promise<RetagResult> {
  const path = `manifests/${tag}`;
  const res = await session.send(target, {
    method: "PUT",
    path,
    actions: "pull,push",
    headers: { "content-type": src.contentType },
    body: src.manifest.body,
  });
  if (res.status !== 201 && res.status !== 200) throw session.fail(target, { method: "PUT", path }, res);
  const returned = res.headers.get("docker-content-digest");
  if (returned && returned !== src.manifest.digest) {
    throw new RegistryError(
      target.text,
      `registry stored tag ${tag} as ${returned}, expected ${src.manifest.digest} (identical bytes were sent)`,
    );
  }
  return { tag, status: "created", digest: src.manifest.digest };
}

// A new branch and its one commit, with two content-creating requests instead of three (tree, commit, ref):
// the branch is created at the deploy branch head, then GraphQL `createCommitOnBranch` adds the commit on it
// with `expectedHeadOid` as its compare-and-swap. GitHub makes that commit as the App and signs it, as it
// does a REST commit that names no author or committer. The mutation cannot choose a parent, so it only
// fits a branch that is created for it: an existing PR branch is rewritten on top of the new deploy branch
// head, which only the Git Data API can do (objects.ts, refs.ts).
import { RefRaceError, isGraphqlError, isMissingPermission, statusOf } from "./errors.js";
import type { FileChange } from "./objects.js";
import type { RepoApi } from "./types.js";

/** Whether `changes` fit the mutation: it writes regular files only (no mode: executables, links). */
export function fitsCommitOnBranch(changes: readonly FileChange[]): boolean {
  return changes.every((c) => (c.mode ?? "100644") === "100644");
}

/** Creates `refs/heads/<branch>` at `sha`; a branch that exists already is a race (someone was first). */
export async function createBranch(api: RepoApi, branch: string, sha: string): Promise<void> {
  try {
    await api.octokit.rest.git.createRef({ ...api.coords, ref: `refs/heads/${branch}`, sha });
  } catch (error) {
    // GitHub's 422 says "Reference already exists" for the race; any other 422 is a refusal to report.
    if (statusOf(error) === 422 && /already exists/i.test(error instanceof Error ? error.message : ""))
      throw new RefRaceError(branch, `branch ${branch} was created by someone else meanwhile`);
    throw error;
  }
}

/**
 * One commit on `branch` with `changes`, only while the branch is at `expectedHead`; returns the commit. A
 * branch that moved meanwhile (GitHub's STALE_DATA) is a race: the caller plans again.
 */
export async function commitOnBranch(
  api: RepoApi,
  input: { branch: string; expectedHead: string; changes: FileChange[]; message: string },
): Promise<string> {
  const [headline = "", ...rest] = input.message.split("\n");
  // GitHub joins headline and body with one blank line: the body starts after the message's own.
  const body = rest.join("\n").replace(/^\n/, "");
  try {
    const data = await api.octokit.graphql<{ createCommitOnBranch: { commit: { oid: string } } }>(
      COMMIT_ON_BRANCH,
      {
        input: {
          branch: {
            repositoryNameWithOwner: `${api.coords.owner}/${api.coords.repo}`,
            branchName: input.branch,
          },
          expectedHeadOid: input.expectedHead,
          message: body ? { headline, body } : { headline },
          fileChanges: {
            additions: input.changes
              .filter((c) => c.content !== null)
              .map((c) => ({ path: c.path, contents: Buffer.from(c.content!, "utf8").toString("base64") })),
            deletions: input.changes.filter((c) => c.content === null).map((c) => ({ path: c.path })),
          },
        },
      },
    );
    return data.createCommitOnBranch.commit.oid;
  } catch (error) {
    if (isGraphqlError(error) && !isMissingPermission(error) && isStale(error))
      throw new RefRaceError(
        input.branch,
        `branch ${input.branch} moved while the bot was writing it (expected ${input.expectedHead}): ${error.message}`,
      );
    throw error;
  }
}

function isStale(error: Error & { errors: unknown[] }): boolean {
  return error.errors.some((e) => (e as { type?: string }).type === "STALE_DATA");
}

const COMMIT_ON_BRANCH = `mutation($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid } }
}`;

// Moving and deleting branches, each only from the head the bot expects (compare-and-swap), so two replicas
// can never overwrite each other's work or a newer deploy PR's branch.
import type { RepoApi } from "./types.js";
import { RefRaceError, isGraphqlError, isMissingPermission, isUnknownMutation, statusOf } from "./errors.js";

const ZERO_OID = "0000000000000000000000000000000000000000";

/**
 * Points `refs/heads/<branch>` at `sha` only if it still points at `expected` (null: must not exist yet);
 * GraphQL updateRefs checks that atomically.
 */
export async function setBranch(
  api: RepoApi,
  repositoryId: string,
  branch: string,
  sha: string,
  expected: string | null,
): Promise<void> {
  try {
    await api.octokit.graphql(UPDATE_REFS_MUTATION, {
      repositoryId,
      name: `refs/heads/${branch}`,
      before: expected ?? ZERO_OID,
      after: sha,
    });
  } catch (error) {
    // A refused permission is not a race: planning again would be refused the same way.
    if (!isGraphqlError(error) || isMissingPermission(error)) throw error;
    if (isUnknownMutation(error)) return setBranchRest(api, branch, sha, expected);
    throw new RefRaceError(
      branch,
      `branch ${branch} moved while the bot was writing it (expected ${expected ?? "no branch"}): ${error.message}`,
    );
  }
}

/**
 * For servers without updateRefs (GitHub Enterprise Server before 3.16): check the head, then move it. A
 * window between the two remains, which only this fallback has.
 */
async function setBranchRest(
  api: RepoApi,
  branch: string,
  sha: string,
  expected: string | null,
): Promise<void> {
  const race = (actual: string | null) =>
    new RefRaceError(
      branch,
      `branch ${branch} is at ${actual ?? "nothing"}, expected ${expected ?? "no branch"}`,
    );
  if (expected === null) {
    try {
      await api.octokit.rest.git.createRef({ ...api.coords, ref: `refs/heads/${branch}`, sha });
    } catch (error) {
      if (statusOf(error) === 422) throw race("an existing commit");
      throw error;
    }
    return;
  }
  const actual = await headOf(api, branch);
  if (actual !== expected) throw race(actual);
  await api.octokit.rest.git.updateRef({ ...api.coords, ref: `heads/${branch}`, sha, force: true });
}

/** Deletes a branch; an already-missing branch is fine (redelivery, or someone deleted it first). */
export async function deleteBranch(api: RepoApi, branch: string): Promise<boolean> {
  try {
    await api.octokit.rest.git.deleteRef({ ...api.coords, ref: `heads/${branch}` });
    return true;
  } catch (error) {
    if (statusOf(error) === 422 || statusOf(error) === 404) return false;
    throw error;
  }
}

/**
 * Deletes `branch` only while it still points at `expected`: a redelivered event finds it gone (no write),
 * and a branch that moved on (a newer deploy PR's) is left alone. Returns whether it was deleted.
 */
export async function deleteBranchAt(api: RepoApi, branch: string, expected: string): Promise<boolean> {
  const actual = await headOf(api, branch);
  return actual !== null && actual === expected ? deleteBranch(api, branch) : false;
}

/** The commit a branch points at, or null when there is no such branch. */
async function headOf(api: RepoApi, branch: string): Promise<string | null> {
  try {
    return (await api.octokit.rest.git.getRef({ ...api.coords, ref: `heads/${branch}` })).data.object.sha;
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

const UPDATE_REFS_MUTATION = `mutation($repositoryId: ID!, $name: GitRefname!, $before: GitObjectID!, $after: GitObjectID!) {
  updateRefs(input: { repositoryId: $repositoryId, refUpdates: [{ name: $name, beforeOid: $before, afterOid: $after, force: true }] }) { clientMutationId }
}`;

// The deploy branch written as one commit on top of the deploy branch head, moved by compare-and-swap.
import type { BranchState, FileChange, GitHubRepo } from "./repo.js";

/**
 * One commit with `changes` on top of `state.base`, on `branch`. Returns false when the branch already holds
 * exactly this (same tree, same parent): a redelivered event writes nothing.
 */
export async function writeDeployBranch(
  repo: GitHubRepo,
  state: BranchState & { base: NonNullable<BranchState["base"]> },
  input: { branch: string; changes: FileChange[]; message: string },
): Promise<boolean> {
  const base = state.base;
  const tree = await repo.createTree(base.tree, input.changes);
  if (state.head && state.head.tree === tree && state.head.parents[0] === base.sha) return false;
  const commit = await repo.createCommit({ tree, parent: base.sha, message: input.message });
  await repo.setBranch(state.repositoryId, input.branch, commit, state.head?.sha ?? null);
  return true;
}

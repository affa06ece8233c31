// The deploy branch written as one commit on top of the deploy branch head, moved by compare-and-swap. A
// branch that does not exist yet is created at that head and gets its commit from GraphQL
// `createCommitOnBranch` (two writes); an existing one is rewritten through the Git Data API (tree, commit,
// ref: three), because the mutation cannot put a commit on any parent but the branch's own head.
import { createHash } from "node:crypto";
import { fitsCommitOnBranch } from "./branch-commit.js";
import { isGraphqlError, isUnknownMutation } from "./errors.js";
import type { WriteJournal } from "./journal.js";
import type { BranchState, FileChange, GitHubRepo, TreeFile } from "./repo.js";

type WritableState = BranchState & { base: NonNullable<BranchState["base"]> };

/** The branch moved by this run: from `previous` (null: it did not exist) to `commit`. */
export interface BranchMove {
  branch: string;
  previous: string | null;
  commit: string;
}

/**
 * One commit with `changes` on top of `state.base`, on `branch`, each write recorded in `journal`. Returns
 * null when the branch already holds exactly this (same files, same parent): a redelivered event or a re-run
 * writes nothing, not even a tree. The tree and the commit are on no branch until the last step moves it.
 */
export async function writeDeployBranch(
  repo: GitHubRepo,
  state: WritableState,
  input: { branch: string; changes: FileChange[]; message: string },
  journal: WriteJournal,
): Promise<BranchMove | null> {
  const base = state.base;
  if (createsBranch(state, input.changes)) return writeNewBranch(repo, state, input, journal);
  if (await holdsAlready(repo, state, input.changes)) return null;
  const tree = await journal.write(
    "tree",
    () => repo.createTree(base.tree, input.changes),
    (sha) => ({ label: `tree \`${short(sha)}\` (on no branch by itself)` }),
  );
  if (state.head && state.head.tree === tree && state.head.parents[0] === base.sha) return null;
  const commit = await journal.write(
    "commit",
    () => repo.createCommit({ tree, parent: base.sha, message: input.message }),
    (sha) => ({ label: `commit \`${short(sha)}\` (on no branch by itself)` }),
  );
  const previous = state.head?.sha ?? null;
  await journal.write(
    "branch",
    () => repo.setBranch(state.repositoryId, input.branch, commit, previous),
    () => ({
      label: `branch \`${input.branch}\` moved ${previous ? `from \`${short(previous)}\`` : "(created)"} to \`${short(commit)}\``,
    }),
  );
  return { branch: input.branch, previous, commit };
}

/** The writes {@link writeDeployBranch} makes, in order, for the journal's plan. */
export function branchSteps(
  state: BranchState,
  changes: readonly FileChange[],
  branch: string,
): Array<{ key: string; label: string }> {
  return createsBranch(state, changes)
    ? [
        { key: "branch", label: `branch \`${branch}\` (created)` },
        { key: "commit", label: "the commit" },
      ]
    : [
        { key: "tree", label: "the tree" },
        { key: "commit", label: "the commit" },
        { key: "branch", label: `branch \`${branch}\`` },
      ];
}

const createsBranch = (state: BranchState, changes: readonly FileChange[]) =>
  state.head === null && fitsCommitOnBranch(changes);

/**
 * The branch created at the deploy branch head, then the commit on it. When the commit cannot be made, the
 * branch (which holds nothing of this deploy) is deleted again while it is still at that head: left, the
 * next run would find a branch the bot did not commit to.
 */
async function writeNewBranch(
  repo: GitHubRepo,
  state: WritableState,
  input: { branch: string; changes: FileChange[]; message: string },
  journal: WriteJournal,
): Promise<BranchMove> {
  const base = state.base;
  await journal.write(
    "branch",
    () => repo.createBranch(input.branch, base.sha),
    () => ({ label: `branch \`${input.branch}\` created at the deploy branch head \`${short(base.sha)}\`` }),
  );
  try {
    const commit = await journal.write(
      "commit",
      () => commitOnNewBranch(repo, state, input),
      (sha) => ({ label: `commit \`${short(sha)}\` on branch \`${input.branch}\`` }),
    );
    return { branch: input.branch, previous: null, commit };
  } catch (error) {
    await revertDeployBranch(
      repo,
      state.repositoryId,
      { ...input, previous: null, commit: base.sha },
      journal,
    );
    throw error;
  }
}

/** createCommitOnBranch; on a server without it, the same commit through the Git Data API. */
async function commitOnNewBranch(
  repo: GitHubRepo,
  state: WritableState,
  input: { branch: string; changes: FileChange[]; message: string },
): Promise<string> {
  const base = state.base;
  try {
    return await repo.commitOnBranch({ ...input, expectedHead: base.sha });
  } catch (error) {
    if (!isGraphqlError(error) || !isUnknownMutation(error)) throw error;
    const tree = await repo.createTree(base.tree, input.changes);
    const commit = await repo.createCommit({ tree, parent: base.sha, message: input.message });
    await repo.setBranch(state.repositoryId, input.branch, commit, base.sha);
    return commit;
  }
}

/**
 * Puts the branch back where it was, only while it still holds this run's commit (compare-and-swap): a
 * branch someone moved since is left alone. Recorded in `journal`; returns whether it was put back.
 */
export async function revertDeployBranch(
  repo: GitHubRepo,
  repositoryId: string,
  move: BranchMove,
  journal: WriteJournal,
): Promise<boolean> {
  const label = move.previous
    ? `branch \`${move.branch}\` moved back to \`${short(move.previous)}\``
    : `branch \`${move.branch}\` deleted again`;
  try {
    if (move.previous) await repo.setBranch(repositoryId, move.branch, move.previous, move.commit);
    else if (!(await repo.deleteBranchAt(move.branch, move.commit))) throw new Error("it moved on since");
    journal.record({ key: "branch", label, state: "reverted" });
    return true;
  } catch (error) {
    journal.record({
      key: "branch",
      label,
      state: "revert-failed",
      detail: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}

const short = (sha: string) => sha.slice(0, 7);

/**
 * Whether the PR branch's head is a commit on the deploy branch head whose files are the base's with
 * `changes` applied, by blob sha and mode. Reads only: the base listing is the one planning already made
 * (GitHubRepo keeps it), plus one listing of the head's tree, asked only when the parent matches.
 */
async function holdsAlready(repo: GitHubRepo, state: WritableState, changes: FileChange[]): Promise<boolean> {
  const head = state.head;
  if (!head || head.parents[0] !== state.base.sha) return false;
  const [baseFiles, headFiles] = await Promise.all([
    repo.listFiles(state.base.tree),
    repo.listFiles(head.tree),
  ]);
  const wanted = new Map(baseFiles.map((f) => [f.path, entry(f)]));
  for (const c of changes) {
    if (c.content === null) wanted.delete(c.path);
    else wanted.set(c.path, entry({ mode: c.mode ?? "100644", sha: gitBlobSha(c.content) }));
  }
  return headFiles.length === wanted.size && headFiles.every((f) => wanted.get(f.path) === entry(f));
}

const entry = (f: Pick<TreeFile, "mode" | "sha">) => `${f.mode} ${f.sha}`;

/** Git's object id of a blob holding `text` as UTF-8 (what GitHub stores for a tree's inline content). */
export function gitBlobSha(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

// The deploy branch written as one commit on top of the deploy branch head, moved by compare-and-swap.
import { createHash } from "node:crypto";
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

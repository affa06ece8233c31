// The deploy branch written as one commit on top of the deploy branch head, moved by compare-and-swap.
import { createHash } from "node:crypto";
import type { BranchState, FileChange, GitHubRepo, TreeFile } from "./repo.js";

type WritableState = BranchState & { base: NonNullable<BranchState["base"]> };

/**
 * One commit with `changes` on top of `state.base`, on `branch`. Returns false when the branch already holds
 * exactly this (same files, same parent): a redelivered event or a re-run writes nothing, not even a tree.
 */
export async function writeDeployBranch(
  repo: GitHubRepo,
  state: WritableState,
  input: { branch: string; changes: FileChange[]; message: string },
): Promise<boolean> {
  const base = state.base;
  if (await holdsAlready(repo, state, input.changes)) return false;
  const tree = await repo.createTree(base.tree, input.changes);
  if (state.head && state.head.tree === tree && state.head.parents[0] === base.sha) return false;
  const commit = await repo.createCommit({ tree, parent: base.sha, message: input.message });
  await repo.setBranch(state.repositoryId, input.branch, commit, state.head?.sha ?? null);
  return true;
}

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

// Writing git objects through the Git Data API: a tree with inline contents (GitHub stores the blobs) and a
// commit on it. Neither moves a branch: refs.ts does that.
import type { RepoApi } from "./types.js";

export interface FileChange {
  path: string;
  /** New text; null deletes the file. */
  content: string | null;
  mode?: string;
}

/**
 * A new tree on top of `base`'s tree with `changes` applied, one request. Trees are content-addressed, so
 * comparing the result with a branch's tree tells whether a commit would change anything.
 */
export async function createTree(api: RepoApi, baseTree: string, changes: FileChange[]): Promise<string> {
  const { data } = await api.octokit.rest.git.createTree({
    ...api.coords,
    base_tree: baseTree,
    tree: changes.map((c) =>
      c.content === null
        ? { path: c.path, mode: "100644" as const, type: "blob" as const, sha: null }
        : {
            path: c.path,
            mode: (c.mode ?? "100644") as "100644",
            type: "blob" as const,
            content: c.content,
          },
    ),
  });
  return data.sha;
}

/**
 * A commit with one parent. No author or committer is given, so GitHub attributes it to the App and signs it
 * (Verified); the message's build trailer (the core writes it) is how later runs recognize it.
 */
export async function createCommit(
  api: RepoApi,
  input: { tree: string; parent: string; message: string },
): Promise<string> {
  const { data } = await api.octokit.rest.git.createCommit({
    ...api.coords,
    message: input.message,
    tree: input.tree,
    parents: [input.parent],
  });
  return data.sha;
}

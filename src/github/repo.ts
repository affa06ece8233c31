// Reading and writing a repository without a clone: the tree API lists every file in one request, one
// GraphQL query with aliases fetches the texts, and an update is one commit through the Git Data API
// (tree with inline contents → commit → ref), the ref moved by compare-and-swap.
import { BUILD_TRAILER, type Octokit, type RepoCoords } from "./types.js";
import type { Unreadable } from "../core/ports.js";
import { RefRaceError, isGraphqlError, isUnknownMutation, statusOf } from "./errors.js";

export interface TreeFile {
  path: string;
  /** Blob sha: equal shas mean equal contents. */
  sha: string;
  mode: string;
  size: number | null;
}

export interface BranchHead {
  sha: string;
  tree: string;
}

export interface DeployBranchHead extends BranchHead {
  /** Parent commit shas of the head (the bot's commit has exactly one: the deploy branch head it was based on). */
  parents: string[];
  /** The build sha recorded in the bot's commit trailer; null when the head is not the bot's commit. */
  build: string | null;
  /** True only for a commit this bot made: its trailer, a bot author, and GitHub's signature or a bot committer. */
  ownedByBot: boolean;
}

export interface BranchState {
  /** GraphQL node id of the repository (updateRefs needs it). */
  repositoryId: string;
  base: BranchHead | null;
  head: DeployBranchHead | null;
}

export interface CommitSummary {
  sha: string;
  message: string;
  url: string;
  author: string | null;
  date: string | null;
}

export type CompareStatus = "ahead" | "behind" | "identical" | "diverged";

export interface FileChange {
  path: string;
  /** New text; null deletes the file. */
  content: string | null;
  mode?: string;
}

const ZERO_OID = "0000000000000000000000000000000000000000";
/** GraphQL aliases per query: well below GitHub's node limits, and a 100-service repo still takes one query. */
const ALIASES_PER_QUERY = 250;

export class GitHubRepo {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
  ) {}

  /** Heads of the deploy branch and of the bot's PR branch, in one GraphQL query. */
  async branches(base: string, head: string): Promise<BranchState> {
    const data = await this.octokit.graphql<{
      repository: {
        id: string;
        base: { target: { oid: string; tree?: { oid: string } } } | null;
        head: {
          target: {
            oid: string;
            tree?: { oid: string };
            message?: string;
            author?: { name: string | null } | null;
            committer?: { name: string | null } | null;
            parents?: { nodes: Array<{ oid: string }> };
            signature?: { isValid: boolean; wasSignedByGitHub: boolean } | null;
          };
        } | null;
      };
    }>(BRANCHES_QUERY, { ...this.coords, base: `refs/heads/${base}`, head: `refs/heads/${head}` });
    const repo = data.repository;
    const baseHead = repo.base?.target.tree
      ? { sha: repo.base.target.oid, tree: repo.base.target.tree.oid }
      : null;
    let prHead: DeployBranchHead | null = null;
    const t = repo.head?.target;
    if (t?.tree) {
      const build = buildOf(t.message ?? "");
      // An App's API commit names the App as author, and GitHub signs it (or, on a server without a signing
      // key, names the App as committer too). A local amend changes the committer and drops GitHub's signature.
      const signedByGitHub = t.signature?.isValid === true && t.signature.wasSignedByGitHub;
      const botAuthor = (t.author?.name ?? "").endsWith("[bot]");
      const botCommitter = (t.committer?.name ?? "").endsWith("[bot]");
      prHead = {
        sha: t.oid,
        tree: t.tree.oid,
        parents: (t.parents?.nodes ?? []).map((p) => p.oid),
        build,
        ownedByBot: build !== null && botAuthor && (signedByGitHub || botCommitter),
      };
    }
    return { repositoryId: repo.id, base: baseHead, head: prHead };
  }

  /** Every file of a commit's tree, one request. */
  async listFiles(treeOrCommit: string): Promise<TreeFile[]> {
    const { data } = await this.octokit.rest.git.getTree({
      ...this.coords,
      tree_sha: treeOrCommit,
      recursive: "1",
    });
    if (data.truncated) {
      // GitHub cuts recursive listings at 100,000 entries / 7 MB; a partial list would silently miss job files.
      throw new Error(
        `the tree of ${treeOrCommit} is too large for one listing (GitHub truncated it); narrow \`jobs\` globs cannot help here`,
      );
    }
    return data.tree
      .filter((e) => e.type === "blob" && e.path !== undefined && e.sha !== undefined)
      .map((e) => ({ path: e.path!, sha: e.sha!, mode: e.mode ?? "100644", size: e.size ?? null }));
  }

  /**
   * Texts of many files at one commit: one GraphQL query per 250 files. Missing files map to null; a binary
   * or truncated blob is an error for that file only (job files and release notes are text).
   */
  async readTexts(commit: string, paths: string[]): Promise<Map<string, string | Unreadable | null>> {
    const out = new Map<string, string | Unreadable | null>();
    const unique = [...new Set(paths)];
    for (let start = 0; start < unique.length; start += ALIASES_PER_QUERY) {
      const chunk = unique.slice(start, start + ALIASES_PER_QUERY);
      const vars: Record<string, string> = { ...this.coords };
      const decl: string[] = ["$owner: String!", "$repo: String!"];
      const fields: string[] = [];
      chunk.forEach((path, i) => {
        vars[`e${i}`] = `${commit}:${path}`;
        decl.push(`$e${i}: String!`);
        fields.push(`f${i}: object(expression: $e${i}) { ... on Blob { text isBinary isTruncated } }`);
      });
      const query = `query(${decl.join(", ")}) { repository(owner: $owner, name: $repo) { ${fields.join(" ")} } }`;
      const data = await this.octokit.graphql<{
        repository: Record<
          string,
          { text: string | null; isBinary: boolean | null; isTruncated: boolean } | null
        >;
      }>(query, vars);
      chunk.forEach((path, i) => {
        const blob = data.repository[`f${i}`];
        if (!blob) {
          out.set(path, null);
          return;
        }
        if (blob.isBinary || blob.text === null) out.set(path, { unreadable: "a binary file, not text" });
        else if (blob.isTruncated) out.set(path, { unreadable: "too large to read through the API" });
        else out.set(path, blob.text);
      });
    }
    return out;
  }

  /**
   * A new tree on top of `base`'s tree with `changes` applied (inline contents: GitHub stores the blobs), one
   * request. Trees are content-addressed, so comparing the result with a branch's tree tells whether a
   * commit would change anything.
   */
  async createTree(baseTree: string, changes: FileChange[]): Promise<string> {
    const { data } = await this.octokit.rest.git.createTree({
      ...this.coords,
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
  async createCommit(input: { tree: string; parent: string; message: string }): Promise<string> {
    const { data } = await this.octokit.rest.git.createCommit({
      ...this.coords,
      message: input.message,
      tree: input.tree,
      parents: [input.parent],
    });
    return data.sha;
  }

  /**
   * Points `refs/heads/<branch>` at `sha` only if it still points at `expected` (null: must not exist yet);
   * GraphQL updateRefs checks that atomically, so two replicas can never overwrite each other's work.
   */
  async setBranch(repositoryId: string, branch: string, sha: string, expected: string | null): Promise<void> {
    try {
      await this.octokit.graphql(UPDATE_REFS_MUTATION, {
        repositoryId,
        name: `refs/heads/${branch}`,
        before: expected ?? ZERO_OID,
        after: sha,
      });
    } catch (error) {
      if (!isGraphqlError(error)) throw error;
      if (isUnknownMutation(error)) return this.#setBranchRest(branch, sha, expected);
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
  async #setBranchRest(branch: string, sha: string, expected: string | null): Promise<void> {
    const race = (actual: string | null) =>
      new RefRaceError(
        branch,
        `branch ${branch} is at ${actual ?? "nothing"}, expected ${expected ?? "no branch"}`,
      );
    if (expected === null) {
      try {
        await this.octokit.rest.git.createRef({ ...this.coords, ref: `refs/heads/${branch}`, sha });
      } catch (error) {
        if (statusOf(error) === 422) throw race("an existing commit");
        throw error;
      }
      return;
    }
    let actual: string | null = null;
    try {
      actual = (await this.octokit.rest.git.getRef({ ...this.coords, ref: `heads/${branch}` })).data.object
        .sha;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    if (actual !== expected) throw race(actual);
    await this.octokit.rest.git.updateRef({ ...this.coords, ref: `heads/${branch}`, sha, force: true });
  }

  /** Deletes a branch; an already-missing branch is fine (redelivery, or someone deleted it first). */
  async deleteBranch(branch: string): Promise<boolean> {
    try {
      await this.octokit.rest.git.deleteRef({ ...this.coords, ref: `heads/${branch}` });
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
  async deleteBranchAt(branch: string, expected: string): Promise<boolean> {
    let actual: string;
    try {
      actual = (await this.octokit.rest.git.getRef({ ...this.coords, ref: `heads/${branch}` })).data.object
        .sha;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
    return actual === expected ? this.deleteBranch(branch) : false;
  }

  /** How `head` relates to `base`: "behind" means head is an ancestor of base (an older commit). */
  async compareRange(
    base: string,
    head: string,
  ): Promise<{ status: CompareStatus; commits: CommitSummary[]; files: string[] }> {
    // One page: up to 250 commits and 300 files, plenty for one deploy's release notes.
    const { data } = await this.octokit.rest.repos.compareCommitsWithBasehead({
      ...this.coords,
      basehead: `${base}...${head}`,
    });
    return {
      status: data.status,
      files: (data.files ?? []).flatMap((f) =>
        f.previous_filename ? [f.filename, f.previous_filename] : [f.filename],
      ),
      commits: data.commits.map((c) => ({
        sha: c.sha,
        message: c.commit.message,
        url: c.html_url,
        author: c.author?.login ?? c.commit.author?.name ?? null,
        date: c.commit.committer?.date ?? c.commit.author?.date ?? null,
      })),
    };
  }

  /**
   * Commits reachable from `head` that touch any of `paths`, for several path sets at once: one GraphQL query
   * with one `history` alias per distinct path, whatever the number of services. `since` (ISO date) bounds it.
   */
  async history(head: string, paths: string[], since?: string): Promise<Map<string, CommitSummary[]>> {
    const out = new Map<string, CommitSummary[]>();
    const unique = [...new Set(paths)];
    for (let start = 0; start < unique.length; start += ALIASES_PER_QUERY) {
      const chunk = unique.slice(start, start + ALIASES_PER_QUERY);
      const vars: Record<string, string> = { ...this.coords, head };
      const decl = ["$owner: String!", "$repo: String!", "$head: GitObjectID!"];
      if (since) {
        vars.since = since;
        decl.push("$since: GitTimestamp");
      }
      const fields = chunk.map((path, i) => {
        vars[`p${i}`] = path;
        decl.push(`$p${i}: String`);
        return `h${i}: history(first: 100, path: $p${i}${since ? ", since: $since" : ""}) { nodes { oid message url committedDate author { name user { login } } } }`;
      });
      const query = `query(${decl.join(", ")}) { repository(owner: $owner, name: $repo) { object(oid: $head) { ... on Commit { ${fields.join(" ")} } } } }`;
      const data = await this.octokit.graphql<{
        repository: {
          object: Record<
            string,
            {
              nodes: Array<{
                oid: string;
                message: string;
                url: string;
                committedDate: string;
                author: { name: string | null; user: { login: string } | null } | null;
              }>;
            }
          > | null;
        };
      }>(query, vars);
      chunk.forEach((path, i) => {
        const nodes = data.repository.object?.[`h${i}`]?.nodes ?? [];
        out.set(
          path,
          nodes.map((n) => ({
            sha: n.oid,
            message: n.message,
            url: n.url,
            author: n.author?.user?.login ?? n.author?.name ?? null,
            date: n.committedDate,
          })),
        );
      });
    }
    return out;
  }
}

const BRANCHES_QUERY = `query($owner: String!, $repo: String!, $base: String!, $head: String!) {
  repository(owner: $owner, name: $repo) {
    id
    base: ref(qualifiedName: $base) { target { oid ... on Commit { tree { oid } } } }
    head: ref(qualifiedName: $head) {
      target {
        oid
        ... on Commit {
          tree { oid }
          message
          author { name }
          committer { name }
          parents(first: 2) { nodes { oid } }
          signature { isValid wasSignedByGitHub }
        }
      }
    }
  }
}`;

const UPDATE_REFS_MUTATION = `mutation($repositoryId: ID!, $name: GitRefname!, $before: GitObjectID!, $after: GitObjectID!) {
  updateRefs(input: { repositoryId: $repositoryId, refUpdates: [{ name: $name, beforeOid: $before, afterOid: $after, force: true }] }) { clientMutationId }
}`;

/** The build sha from the bot's commit trailer, or null. */
export function buildOf(message: string): string | null {
  const match = new RegExp(`^${BUILD_TRAILER}: ([0-9a-f]{40})$`, "m").exec(message);
  return match ? match[1]! : null;
}

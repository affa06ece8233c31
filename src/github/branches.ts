// The heads of the deploy branch and of the bot's PR branch, and whether the PR branch's head is the bot's
// own commit, read in one GraphQL query.
import { BUILD_TRAILER, type RepoApi } from "./types.js";

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
  /**
   * Every commit of the branch is on the deploy branch too (it adds none of its own): writing over it loses
   * nothing, whoever made the head. A branch the bot created for a commit that never came is such a branch.
   */
  addsNothing: boolean;
}

export interface BranchState {
  /** GraphQL node id of the repository (updateRefs needs it). */
  repositoryId: string;
  base: BranchHead | null;
  head: DeployBranchHead | null;
}

/** Heads of the deploy branch and of the bot's PR branch, in one GraphQL query. */
export async function readBranches(api: RepoApi, base: string, head: string): Promise<BranchState> {
  const data = await api.octokit.graphql<{
    repository: {
      id: string;
      base: { target: { oid: string; tree?: { oid: string } } } | null;
      head: {
        /** The PR branch as the base of a comparison with the deploy branch: behindBy counts its own commits. */
        compare?: { behindBy: number } | null;
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
  }>(BRANCHES_QUERY, { ...api.coords, base: `refs/heads/${base}`, head: `refs/heads/${head}` });
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
      addsNothing: repo.head?.compare?.behindBy === 0,
    };
  }
  return { repositoryId: repo.id, base: baseHead, head: prHead };
}

const BRANCHES_QUERY = `query($owner: String!, $repo: String!, $base: String!, $head: String!) {
  repository(owner: $owner, name: $repo) {
    id
    base: ref(qualifiedName: $base) { target { oid ... on Commit { tree { oid } } } }
    head: ref(qualifiedName: $head) {
      compare(headRef: $base) { behindBy }
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

/** The build sha from the bot's commit trailer, or null. */
export function buildOf(message: string): string | null {
  const match = new RegExp(`^${BUILD_TRAILER}: ([0-9a-f]{40})$`, "m").exec(message);
  return match ? match[1]! : null;
}

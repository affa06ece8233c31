// A repository read and written without a clone, as one object for the handlers: each operation lives in
// its own file (branches, files, objects, refs, history); this class binds them to one client and repository.
import type { Unreadable } from "../core/ports.js";
import { type BranchState, readBranches } from "./branches.js";
import { type TreeFile, listFiles, readBlobs, readTexts } from "./files.js";
import { type CommitSummary, type CompareStatus, commitDate, compareRange, history } from "./history.js";
import { commitOnBranch, createBranch } from "./branch-commit.js";
import { type FileChange, createCommit, createTree } from "./objects.js";
import { deleteBranch, deleteBranchAt, setBranch } from "./refs.js";
import type { Octokit, RepoApi, RepoCoords } from "./types.js";

export { type BranchHead, type BranchState, type DeployBranchHead, buildOf } from "./branches.js";
export type { TreeFile } from "./files.js";
export type { CommitSummary, CompareStatus } from "./history.js";
export type { FileChange } from "./objects.js";

export class GitHubRepo implements RepoApi {
  /** Listings by tree or commit sha: both are immutable, so one listing serves planning and the commit step. */
  readonly #listings = new Map<string, Promise<TreeFile[]>>();

  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
  ) {}

  /** Heads of the deploy branch and of the bot's PR branch, in one GraphQL query. */
  branches(base: string, head: string): Promise<BranchState> {
    return readBranches(this, base, head);
  }

  /** Every file of a commit's tree, one request (once per sha; a failed listing is asked again). */
  listFiles(treeOrCommit: string): Promise<TreeFile[]> {
    let found = this.#listings.get(treeOrCommit);
    if (!found) {
      found = listFiles(this, treeOrCommit);
      this.#listings.set(treeOrCommit, found);
      found.catch(() => this.#listings.delete(treeOrCommit));
    }
    return found;
  }

  /** Texts of many files at one commit (missing files: null), one GraphQL query per 250 files. */
  readTexts(commit: string, paths: string[]): Promise<Map<string, string | Unreadable | null>> {
    return readTexts(this, commit, paths);
  }

  /** Texts by "<commit>:<path>" expression, any commits mixed: one GraphQL query per 250 expressions. */
  readBlobs(expressions: string[]): Promise<Map<string, string | Unreadable | null>> {
    return readBlobs(this, expressions);
  }

  /** A new tree on top of `baseTree` with `changes` applied, one request. */
  createTree(baseTree: string, changes: FileChange[]): Promise<string> {
    return createTree(this, baseTree, changes);
  }

  /** A commit with one parent, attributed to the App and signed by GitHub. */
  createCommit(input: { tree: string; parent: string; message: string }): Promise<string> {
    return createCommit(this, input);
  }

  /** Creates a branch at `sha`; one that exists already is a race. */
  createBranch(branch: string, sha: string): Promise<void> {
    return createBranch(this, branch, sha);
  }

  /** One commit with `changes` on `branch` while it is at `expectedHead` (GraphQL createCommitOnBranch). */
  commitOnBranch(input: {
    branch: string;
    expectedHead: string;
    changes: FileChange[];
    message: string;
  }): Promise<string> {
    return commitOnBranch(this, input);
  }

  /** Points a branch at `sha` only if it still points at `expected` (null: must not exist yet). */
  setBranch(repositoryId: string, branch: string, sha: string, expected: string | null): Promise<void> {
    return setBranch(this, repositoryId, branch, sha, expected);
  }

  /** Deletes a branch; an already-missing branch is fine. */
  deleteBranch(branch: string): Promise<boolean> {
    return deleteBranch(this, branch);
  }

  /** Deletes `branch` only while it still points at `expected`; returns whether it was deleted. */
  deleteBranchAt(branch: string, expected: string): Promise<boolean> {
    return deleteBranchAt(this, branch, expected);
  }

  /** How `head` relates to `base`: "behind" means head is an ancestor of base (an older commit). */
  compareRange(
    base: string,
    head: string,
  ): Promise<{ status: CompareStatus; commits: CommitSummary[]; files: string[] }> {
    return compareRange(this, base, head);
  }

  /** A commit's committer date, one request. */
  commitDate(sha: string): Promise<Date | null> {
    return commitDate(this, sha);
  }

  /** Commits reachable from `head` touching each of `paths`, one GraphQL query per 250 paths. */
  history(head: string, paths: string[], since?: string): Promise<Map<string, CommitSummary[]>> {
    return history(this, head, paths, since);
  }
}

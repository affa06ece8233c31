// The stand-in's repositories: git objects hashed as git does (blob/commit shas are real git shas, trees are
// flat path maps hashed in a stable way), refs, and the issue-tracker side (pulls, comments, check runs,
// deployments, releases, dispatches) as plain arrays a test can read.
import { createHash } from "node:crypto";

export interface Actor {
  login: string;
  type: "Bot" | "User";
}

export interface Commit {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: { name: string; email: string; date: string; login: string | null };
  committer: { name: string; email: string; date: string };
  /** GitHub signs commits an App makes through the API without an explicit author. */
  signedByGitHub: boolean;
}

export interface TreeEntry {
  mode: string;
  sha: string;
}

export interface PullRequest {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: "open" | "closed";
  merged: boolean;
  mergeCommitSha: string | null;
  labels: string[];
  user: Actor;
  /** Head commit when it was merged or closed (the branch may be gone afterwards). */
  headSha: string | null;
}

export interface IssueComment {
  id: number;
  issue: number;
  body: string;
  user: Actor;
  createdAt: string;
  updatedAt: string;
}

export interface CheckRun {
  id: number;
  name: string;
  headSha: string;
  status: "queued" | "in_progress" | "completed";
  conclusion: string | null;
  /** The App's own reference for the run (GitHub keeps it, the App reads it back). */
  externalId: string | null;
  output: { title?: string; summary?: string; text?: string };
  app: Actor;
  startedAt: string;
  completedAt: string | null;
  /** Every status/conclusion it went through, in order. */
  history: Array<{ status: string; conclusion: string | null }>;
}

export interface Deployment {
  id: number;
  sha: string;
  ref: string;
  environment: string;
  description: string | null;
  payload: unknown;
  creator: Actor;
  createdAt: string;
  statuses: Array<{ id: number; state: string; description: string; creator: Actor; createdAt: string }>;
}

export interface Release {
  id: number;
  tagName: string;
  target: string;
  name: string;
  body: string;
  draft: boolean;
  author: Actor;
}

export interface Issue {
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  labels: string[];
  user: Actor;
  /** Set on every change of the issue (the API's and issueEditedPayload's), as GitHub's `updated_at`. */
  updatedAt?: string;
}

export interface Repo {
  id: number;
  nodeId: string;
  owner: string;
  name: string;
  defaultBranch: string;
  refs: Map<string, string>;
  pulls: PullRequest[];
  issues: Issue[];
  comments: IssueComment[];
  checkRuns: CheckRun[];
  deployments: Deployment[];
  releases: Release[];
  dispatches: Array<{ workflow: string; ref: string; inputs: Record<string, unknown> }>;
  /** Sigstore bundles stored by `actions/attest-build-provenance`, by subject digest (`sha256:…`), oldest first. */
  attestations: Map<string, unknown[]>;
  /** Commits made through the API in this repository, in order. */
  createdCommits: string[];
  /** Numbers shared by issues and pulls, as on GitHub. */
  nextNumber: number;
}

const time = (c: Commit) => Date.parse(c.committer.date);
const sha1 = (text: string | Buffer) => createHash("sha1").update(text).digest("hex");

/** git's blob id of a text. */
export function blobSha(content: Buffer): string {
  return sha1(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
}

export class Store {
  readonly blobs = new Map<string, Buffer>();
  readonly trees = new Map<string, Map<string, TreeEntry>>();
  readonly commits = new Map<string, Commit>();
  readonly repos = new Map<string, Repo>();
  #ids = 1000;

  id(): number {
    return (this.#ids += 1);
  }

  repo(fullName: string): Repo | undefined {
    return this.repos.get(fullName.toLowerCase());
  }

  addRepo(owner: string, name: string, defaultBranch: string): Repo {
    const id = this.id();
    const repo: Repo = {
      id,
      nodeId: `R_standin${id}`,
      owner,
      name,
      defaultBranch,
      refs: new Map(),
      pulls: [],
      issues: [],
      comments: [],
      checkRuns: [],
      deployments: [],
      releases: [],
      dispatches: [],
      attestations: new Map(),
      createdCommits: [],
      nextNumber: 1,
    };
    this.repos.set(`${owner}/${name}`.toLowerCase(), repo);
    return repo;
  }

  putBlob(content: Buffer): string {
    const sha = blobSha(content);
    this.blobs.set(sha, content);
    return sha;
  }

  putTree(entries: Map<string, TreeEntry>): string {
    const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sha = sha1(`tree\0${sorted.map(([p, e]) => `${e.mode} ${p}\0${e.sha}`).join("\n")}`);
    this.trees.set(sha, new Map(sorted));
    return sha;
  }

  putCommit(input: Omit<Commit, "sha">): Commit {
    const text = [
      `tree ${input.tree}`,
      ...input.parents.map((p) => `parent ${p}`),
      `author ${input.author.name} <${input.author.email}> ${input.author.date}`,
      `committer ${input.committer.name} <${input.committer.email}> ${input.committer.date}`,
      "",
      input.message,
    ].join("\n");
    const sha = sha1(`commit ${Buffer.byteLength(text)}\0${text}`);
    const commit = { ...input, sha };
    this.commits.set(sha, commit);
    return commit;
  }

  /** A commit sha, a tree sha, or a branch/tag name of `repo` → the commit (null when unknown). */
  resolveCommit(repo: Repo, ref: string): Commit | null {
    const byRef =
      repo.refs.get(ref) ?? repo.refs.get(`refs/heads/${ref}`) ?? repo.refs.get(`refs/tags/${ref}`);
    return this.commits.get(byRef ?? ref) ?? null;
  }

  /** Tree of a commit-ish or a tree sha. */
  resolveTree(repo: Repo, ref: string): { sha: string; entries: Map<string, TreeEntry> } | null {
    const direct = this.trees.get(ref);
    if (direct) return { sha: ref, entries: direct };
    const commit = this.resolveCommit(repo, ref);
    if (!commit) return null;
    return { sha: commit.tree, entries: this.trees.get(commit.tree)! };
  }

  /** Every commit reachable from `sha` (itself included). */
  ancestors(sha: string): Set<string> {
    const seen = new Set<string>();
    const todo = [sha];
    while (todo.length > 0) {
      const next = todo.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      todo.push(...(this.commits.get(next)?.parents ?? []));
    }
    return seen;
  }

  /** The compare API's view of base...head: status and head's commits that base lacks, oldest first. */
  compare(base: string, head: string): { status: string; commits: Commit[]; files: string[] } {
    const ofBase = this.ancestors(base);
    const ofHead = this.ancestors(head);
    const status =
      base === head ? "identical" : ofHead.has(base) ? "ahead" : ofBase.has(head) ? "behind" : "diverged";
    const commits = [...ofHead]
      .filter((s) => !ofBase.has(s))
      .map((s) => this.commits.get(s)!)
      .sort((a, b) => time(a) - time(b));
    // The newest common ancestor: enough for the linear and merge histories tests build.
    const mergeBase = [...ofHead]
      .filter((s) => ofBase.has(s))
      .map((s) => this.commits.get(s)!)
      .sort((a, b) => time(b) - time(a))[0]?.sha;
    const files = this.changedPaths(
      mergeBase ? this.commits.get(mergeBase)!.tree : null,
      this.commits.get(head)!.tree,
    );
    return { status, commits, files };
  }

  /** Paths whose blob differs between two trees (null: the empty tree). */
  changedPaths(from: string | null, to: string): string[] {
    const a = from ? this.trees.get(from)! : new Map<string, TreeEntry>();
    const b = this.trees.get(to)!;
    const out = new Set<string>();
    for (const [path, entry] of b) if (a.get(path)?.sha !== entry.sha) out.add(path);
    for (const path of a.keys()) if (!b.has(path)) out.add(path);
    return [...out].sort();
  }

  /** Commits reachable from `head`, newest first, that change something under `path` (vs their first parent). */
  history(head: string, path: string | null, since: string | null, first: number): Commit[] {
    const all = [...this.ancestors(head)].map((s) => this.commits.get(s)!).sort((a, b) => time(b) - time(a));
    const touches = (c: Commit) => {
      if (path === null || path === "") return true;
      const parent = c.parents[0] ? this.commits.get(c.parents[0])!.tree : null;
      return this.changedPaths(parent, c.tree).some((p) => p === path || p.startsWith(`${path}/`));
    };
    const from = since === null ? -Infinity : Date.parse(since);
    return all.filter((c) => time(c) >= from && touches(c)).slice(0, first);
  }
}

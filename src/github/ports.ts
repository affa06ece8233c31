// The core's RepoPort over the GitHub API, at one commit of the deploy branch. Request counts stay
// constant as services grow: one tree listing, one GraphQL query for every job file's text, compare
// results cached (the ancestry check and the release notes ask about the same ranges), and the
// per-service history queries of one tick merged into one GraphQL query.
import type { Commit } from "../core/release-notes.js";
import type { Relation } from "../core/plan.js";
import type { RepoPort, Unreadable } from "../core/ports.js";
import { matchesAny } from "../core/glob.js";
import type { CommitSummary, CompareStatus, GitHubRepo, TreeFile } from "./repo.js";

/** Git's mode for a symbolic link. */
const SYMLINK = "120000";
const SYMLINK_REASON =
  "a symbolic link (git mode 120000): the bot reads and writes regular files only, so it is left as it is";

export class GitHubRepoPort implements RepoPort {
  #files: Promise<Map<string, TreeFile>> | null = null;
  readonly #compares = new Map<
    string,
    Promise<{ status: CompareStatus; commits: CommitSummary[]; files: string[] }>
  >();
  #pending: Array<{
    to: string;
    prefix: string;
    since: string | undefined;
    resolve(c: CommitSummary[]): void;
    reject(e: unknown): void;
  }> = [];
  #scheduled = false;

  /**
   * @param commit the deploy branch head the files are read at
   * @param tree its tree sha
   */
  constructor(
    readonly repo: GitHubRepo,
    readonly commit: string,
    readonly tree: string,
  ) {}

  /** Every file of the tree, fetched once. */
  files(): Promise<Map<string, TreeFile>> {
    this.#files ??= this.repo.listFiles(this.tree).then((list) => new Map(list.map((f) => [f.path, f])));
    return this.#files;
  }

  async listFiles(globs: string[]): Promise<string[]> {
    const files = await this.files();
    return [...files.keys()].filter((path) => matchesAny(path, globs)).sort();
  }

  async readFiles(paths: string[]): Promise<Map<string, string | Unreadable>> {
    const files = await this.files();
    // Files absent from the listing cost nothing: the release notes file of a first deploy, for instance.
    const present = paths.filter((p) => files.has(p));
    const out = new Map<string, string | Unreadable>();
    // A symbolic link's blob is its target path: never read as a job file, never followed.
    for (const p of present) if (files.get(p)!.mode === SYMLINK) out.set(p, { unreadable: SYMLINK_REASON });
    const regular = present.filter((p) => !out.has(p));
    if (regular.length === 0) return out;
    for (const [path, text] of await this.repo.readTexts(this.commit, regular))
      if (text !== null) out.set(path, text);
    return out;
  }

  /**
   * Mode of a file in the tree (kept when the file is rewritten), default 100644. A symbolic link is never
   * replaced by a regular file: asking to write one is an error.
   */
  async modeOf(path: string): Promise<string> {
    const mode = (await this.files()).get(path)?.mode ?? "100644";
    if (mode === SYMLINK) throw new Error(`${path}: ${SYMLINK_REASON}`);
    return mode;
  }

  async compare(base: string, head: string): Promise<Relation> {
    return (await this.#compare(base, head)).status;
  }

  #compare(base: string, head: string) {
    const key = `${base}...${head}`;
    let found = this.#compares.get(key);
    if (!found) {
      found = this.repo.compareRange(base, head);
      this.#compares.set(key, found);
    }
    return found;
  }

  /**
   * Commits in from..to touching `paths`. The range comes from the compare API (exact ancestry); which of
   * them touch the paths from `history(path:)` on the literal prefix of each glob, intersected with it.
   * A glob starting with a wildcard has no prefix: every commit of the range whose files match counts.
   */
  async commitsTouching(from: string, to: string, paths: string[]): Promise<Commit[]> {
    const range = await this.#compare(from, to);
    if (range.status === "behind" || range.status === "identical" || range.commits.length === 0) return [];
    // The compare lists at most 300 files: only a shorter list proves no commit touched the paths.
    if (range.files.length < 300 && !range.files.some((f) => matchesAny(f, paths))) return [];
    const inRange = new Map(range.commits.map((c) => [c.sha, c]));
    const oldest = range.commits
      .map((c) => c.date)
      .filter((d): d is string => d !== null)
      .sort()[0];
    const prefixes = [...new Set(paths.map(literalPrefix))];
    if (prefixes.includes("")) return toCommits(range.commits.slice().reverse());
    const touched = new Set<string>();
    const histories = await Promise.all(prefixes.map((p) => this.#history(to, p, oldest)));
    for (const list of histories) for (const c of list) if (inRange.has(c.sha)) touched.add(c.sha);
    // Compare lists oldest first; release notes want newest first.
    return toCommits(range.commits.filter((c) => touched.has(c.sha)).reverse());
  }

  /**
   * Commits touching `paths` at the head read, newest first, with whole messages: one GraphQL query
   * (100 commits per path), not batched with the release notes' queries, which are bounded by a date.
   */
  async deployCommits(paths: string[]): Promise<Array<{ sha: string; message: string }>> {
    const byPath = await this.repo.history(this.commit, paths);
    const seen = new Map<string, CommitSummary>();
    for (const list of byPath.values()) for (const c of list) seen.set(c.sha, c);
    return [...seen.values()]
      .sort((a, b) => (b.date ?? "").localeCompare(a.date ?? ""))
      .map((c) => ({ sha: c.sha, message: c.message }));
  }

  #history(to: string, prefix: string, since: string | undefined): Promise<CommitSummary[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ to, prefix, since, resolve, reject });
      // Services are planned concurrently: wait one macrotask so their queries go out as one.
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#sendHistory());
      }
    });
  }

  async #sendHistory(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    const byHead = new Map<string, typeof batch>();
    for (const b of batch) byHead.set(b.to, [...(byHead.get(b.to) ?? []), b]);
    await Promise.all(
      [...byHead].map(async ([to, group]) => {
        const since = group
          .map((b) => b.since)
          .filter((d): d is string => d !== undefined)
          .sort()[0];
        try {
          const result = await this.repo.history(
            to,
            group.map((b) => b.prefix),
            since,
          );
          for (const b of group) b.resolve(result.get(b.prefix) ?? []);
        } catch (error) {
          for (const b of group) b.reject(error);
        }
      }),
    );
  }
}

/** "services/banana/**" → "services/banana"; "**\/*.proto" → "" (no usable prefix). */
export function literalPrefix(glob: string): string {
  const parts = glob.replace(/^\.\//, "").split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (/[*?{[]/.test(part)) break;
    out.push(part);
  }
  return out.join("/").replace(/\/+$/, "");
}

function toCommits(list: CommitSummary[]): Commit[] {
  return list.map((c) => ({
    sha: c.sha,
    subject: c.message.split("\n")[0] ?? "",
    ...(c.author ? { author: c.author } : {}),
    ...(c.date ? { date: c.date } : {}),
  }));
}

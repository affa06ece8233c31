// Local git through execa with argument arrays (never a shell). Read-only helpers plus one commit
// written with plumbing, so the user's checkout, index and HEAD stay as they are.
import { constants } from "node:fs";
import { access, rm, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import type { Commit } from "../core/release-notes.js";
import { shortSha } from "../core/templates.js";
import type { Relation } from "../core/plan.js";
import { makeTempDir } from "../temp-dirs.js";

export class GitError extends Error {}

export async function git(
  cwd: string,
  args: string[],
  options: { input?: string; env?: Record<string, string>; allowFail?: boolean } = {},
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = await execa("git", args, {
    cwd,
    reject: false,
    stripFinalNewline: false,
    ...(options.input !== undefined ? { input: options.input } : { stdin: "ignore" }),
    env: { GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", ...options.env },
  });
  if (result.exitCode !== 0 && !options.allowFail) {
    const reason = String(result.stderr || result.stdout || result.shortMessage)
      .trim()
      .split("\n")[0];
    throw new GitError(`git ${args[0]}: ${reason}`);
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? 1 };
}

/**
 * Full commit ids this process has seen git resolve, by repository. A commit's full id names that
 * commit for good, so it is asked once: a plan resolves the build commit, then compares each old pin's
 * commit with it (often the same commit), which would otherwise be a git process each time.
 */
const knownCommits = new Set<string>();
const FULL_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Full commit id of a revision; GitError when it does not name a commit. */
export async function revParse(cwd: string, rev: string): Promise<string> {
  if (knownCommits.has(`${cwd}\0${rev}`)) return rev;
  const { stdout, exitCode } = await git(cwd, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], {
    allowFail: true,
  });
  if (exitCode !== 0) throw new GitError(`"${rev}" is not a commit in ${cwd}`);
  const id = stdout.trim();
  if (FULL_ID.test(id)) knownCommits.add(`${cwd}\0${id}`);
  return id;
}

export async function repoRoot(cwd: string): Promise<string> {
  const { stdout, exitCode } = await git(cwd, ["rev-parse", "--show-toplevel"], { allowFail: true });
  if (exitCode !== 0) throw new GitError(`${cwd} is not inside a git repository`);
  return stdout.trim();
}

/** The checked-out branch, or null on a detached HEAD. */
export async function currentBranch(cwd: string): Promise<string | null> {
  const { stdout, exitCode } = await git(cwd, ["symbolic-ref", "--quiet", "--short", "HEAD"], {
    allowFail: true,
  });
  return exitCode === 0 ? stdout.trim() : null;
}

/** Tracked and untracked-but-not-ignored files, repository-relative with "/" separators. */
export async function listFiles(cwd: string): Promise<string[]> {
  const { stdout } = await git(cwd, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  return [...new Set(stdout.split("\0").filter(Boolean))];
}

/** A tree entry: "100644" file, "100755" executable, "120000" symlink, "160000" submodule. */
export interface TreeEntry {
  mode: string;
  path: string;
}

/** Every file of a commit's tree, repository-relative. */
export async function treeEntries(cwd: string, rev: string): Promise<TreeEntry[]> {
  const { stdout } = await git(cwd, ["ls-tree", "-r", "-z", "--full-tree", rev]);
  return stdout
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf("\t");
      return { mode: line.slice(0, line.indexOf(" ")), path: line.slice(tab + 1) };
    });
}

/** The bytes of `rev:path` for each path (one `git cat-file --batch`); a missing one is left out. */
export async function readBlobs(
  cwd: string,
  rev: string,
  paths: readonly string[],
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (paths.length === 0) return out;
  const result = await execa("git", ["cat-file", "--batch"], {
    cwd,
    input: paths.map((p) => `${rev}:${p}\n`).join(""),
    encoding: "buffer",
    env: { GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
  });
  const data = Buffer.from(result.stdout);
  let at = 0;
  for (const p of paths) {
    const eol = data.indexOf(0x0a, at);
    const header = data.subarray(at, eol).toString("utf8");
    at = eol + 1;
    const found = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!found) continue; // "<rev>:<path> missing": nothing follows
    const size = Number(found[2]);
    if (found[1] === "blob") out.set(p, data.subarray(at, at + size));
    at += size + 1;
  }
  return out;
}

/** Every commit in from..to with the files it touched, newest first (one git process for a range). */
export async function logWithFiles(
  cwd: string,
  from: string,
  to: string,
): Promise<Array<Commit & { files: string[] }>> {
  // Unit and record separators cannot appear in names or subjects.
  // Each record: separator, header line (fields split by unit separators), then one file per line.
  const { stdout } = await git(cwd, [
    "log",
    "--name-only",
    "--no-renames",
    "--format=%x1e%H%x1f%an%x1f%aI%x1f%s",
    `${from}..${to}`,
  ]);
  return stdout
    .split("\x1e")
    .filter((record) => record.trim())
    .map((record) => {
      const [header, ...files] = record.split("\n");
      const [sha, author, date, subject] = header!.split("\x1f") as [string, string, string, string];
      return { sha, author, date, subject, files: files.filter(Boolean) };
    });
}

const isAncestor = async (cwd: string, a: string, b: string) =>
  (await git(cwd, ["merge-base", "--is-ancestor", a, b], { allowFail: true })).exitCode === 0;

/** Where `head` stands relative to `base`, like GitHub's compare status. */
export async function compare(cwd: string, base: string, head: string): Promise<Relation> {
  let a: string;
  let b: string;
  try {
    [a, b] = [await revParse(cwd, base), await revParse(cwd, head)];
  } catch {
    return "unknown";
  }
  if (a === b) return "identical";
  if (await isAncestor(cwd, a, b)) return "ahead";
  if (await isAncestor(cwd, b, a)) return "behind";
  return "diverged";
}

/** https URL of a GitHub-style `origin`, for links in release notes; null when there is none. */
export async function remoteWebUrl(cwd: string): Promise<string | null> {
  const { stdout, exitCode } = await git(cwd, ["remote", "get-url", "origin"], { allowFail: true });
  if (exitCode !== 0) return null;
  const url = stdout.trim();
  const ssh = /^git@([^:]+):(.+?)(?:\.git)?$/.exec(url);
  if (ssh) return `https://${ssh[1]}/${ssh[2]}`;
  const https = /^https:\/\/(?:[^@/]+@)?([^/]+)\/(.+?)(?:\.git)?\/?$/.exec(url);
  return https ? `https://${https[1]}/${https[2]}` : null;
}

/** Refuses a name git would not take as a branch, before anything else happens. */
export async function checkBranchName(cwd: string, branch: string): Promise<void> {
  const check = await git(cwd, ["check-ref-format", "--branch", branch], { allowFail: true });
  if (check.exitCode !== 0 || branch.startsWith("-"))
    throw new GitError(`"${branch}" is not a valid branch name`);
}

/** Where a branch points, or null when it does not exist. */
export async function branchHead(cwd: string, branch: string): Promise<string | null> {
  const { stdout, exitCode } = await git(
    cwd,
    ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`],
    {
      allowFail: true,
    },
  );
  return exitCode === 0 ? stdout.trim() : null;
}

/** Branches checked out in any worktree of the repository (moving one would desync its checkout). */
async function checkedOutBranches(cwd: string): Promise<Set<string>> {
  const { stdout } = await git(cwd, ["worktree", "list", "--porcelain"]);
  return new Set([...stdout.matchAll(/^branch refs\/heads\/(.+)$/gm)].map((m) => m[1]!));
}

/**
 * Whether `apply --commit BRANCH` may (re)write BRANCH onto `head` + one commit: never a checked-out
 * branch; a branch holding commits `head` lacks only when each is the bot's own earlier deploy commit
 * (its build trailer), or with `force`. Returns where the branch points now (null: it does not exist),
 * the value the final compare-and-swap expects.
 */
export async function guardDeployBranch(
  cwd: string,
  branch: string,
  head: string,
  options: { force: boolean; trailer: string },
): Promise<string | null> {
  if ((await checkedOutBranches(cwd)).has(branch))
    throw new GitError(`${branch} is checked out: the deploy commit goes on a branch nobody works on`);
  const current = await branchHead(cwd, branch);
  if (current === null || options.force) return current;
  const { stdout } = await git(cwd, ["log", "--format=%H%x1f%B%x1e", `${head}..${current}`]);
  const foreign = stdout
    .split("\x1e")
    .map((record) => record.trim())
    .filter(Boolean)
    .filter((record) => !new RegExp(`^${options.trailer}: [0-9a-f]{40}$`, "m").test(record));
  if (foreign.length > 0) {
    const n = foreign.length;
    throw new GitError(
      `${branch} has ${n} commit${n === 1 ? "" : "s"} that HEAD lacks and nomad-gitops-bot did not make (e.g. ${shortSha(foreign[0]!)}); rewriting it would drop ${n === 1 ? "it" : "them"} (--force to do it anyway)`,
    );
  }
  return current;
}

/** The branch moved between the run's start and its commit: another run (or a person) won. */
export class BranchRaceError extends GitError {}

/**
 * One commit holding `files` on top of `parent`, stored on `branch` by compare-and-swap: the ref moves
 * only if it still points at `expected` (null: it must not exist yet), else BranchRaceError and the
 * branch is left as the winner wrote it. Built in a temporary index from `parent`'s tree, so nothing of
 * the working tree, the real index or HEAD goes into it or is touched.
 */
export async function commitFiles(
  cwd: string,
  options: {
    branch: string;
    parent: string;
    expected: string | null;
    message: string;
    files: Array<{ path: string; text: string }>;
    /** git is configured to sign commits (commitSigning): the commit is signed, or not made */
    signing: CommitSigning | null;
  },
): Promise<string> {
  await checkBranchName(cwd, options.branch);
  const tmp = await makeTempDir("index");
  try {
    const env = { GIT_INDEX_FILE: path.join(tmp, "index") };
    await git(cwd, ["read-tree", options.parent], { env });
    for (const file of options.files) {
      const blob = (await git(cwd, ["hash-object", "-w", "--stdin"], { input: file.text })).stdout.trim();
      const mode = await fileMode(cwd, options.parent, file.path);
      await git(cwd, ["update-index", "--add", "--cacheinfo", `${mode},${blob},${file.path}`], { env });
    }
    const tree = (await git(cwd, ["write-tree"], { env })).stdout.trim();
    const commit = await commitTree(cwd, ["-p", options.parent, tree], options.message, options.signing);
    const ref = `refs/heads/${options.branch}`;
    const old = options.expected ?? "0".repeat(40);
    const moved = await git(cwd, ["update-ref", "-m", "nomad-gitops-bot apply", ref, commit, old], {
      allowFail: true,
    });
    if (moved.exitCode !== 0) {
      const now = await branchHead(cwd, options.branch);
      throw new BranchRaceError(
        `${options.branch} moved while this run worked (${options.expected ? `from ${options.expected.slice(0, 12)} ` : "it was created "}to ${now ? now.slice(0, 12) : "nothing"}): nothing committed; run apply again`,
      );
    }
    return commit;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Signing could not be done as git is configured: nothing was committed. */
export class SigningError extends GitError {}

/** How git is configured to sign commits; null: it is not (`commit.gpgsign` unset or false). */
export interface CommitSigning {
  /** `gpg.format`: openpgp, ssh or x509 */
  format: string;
}

/**
 * The repository's own signing rule, as `git commit` follows it: `commit.gpgsign`, with the user's
 * `gpg.format`, `gpg.program` / `gpg.<format>.program` and `user.signingkey` (git applies those itself
 * when asked to sign). Plumbing (`commit-tree`) ignores `commit.gpgsign`, so it has to be read here.
 */
export async function commitSigning(cwd: string): Promise<CommitSigning | null> {
  const on = await git(cwd, ["config", "--type=bool", "commit.gpgsign"], { allowFail: true });
  // Exit 1: not set. Anything else is git refusing the value (`git commit` would refuse it too).
  if (on.exitCode > 1) throw new GitError(`git config commit.gpgsign: ${firstLines(on.stderr)}`);
  if (on.stdout.trim() !== "true") return null;
  const format = (await git(cwd, ["config", "gpg.format"], { allowFail: true })).stdout.trim();
  return { format: format || "openpgp" };
}

/**
 * Signs a throwaway commit of the empty tree (an unreferenced object, pruned by git's gc) so a signing
 * setup that does not work stops `apply --commit` before anything is pushed or written.
 */
export async function checkSigning(cwd: string, signing: CommitSigning): Promise<void> {
  const empty = (await git(cwd, ["mktree"], { input: "" })).stdout.trim();
  await commitTree(cwd, [empty], "nomad-gitops-bot signing check\n", signing);
}

/** `git commit-tree`, signed when the repository signs; the bot's identity when the user has none. */
async function commitTree(
  cwd: string,
  args: string[],
  message: string,
  signing: CommitSigning | null,
): Promise<string> {
  const made = await git(cwd, ["commit-tree", ...(signing ? ["-S"] : []), "-F", "-", ...args], {
    input: message,
    env: await commitIdentity(cwd),
    allowFail: true,
  });
  if (made.exitCode === 0) return made.stdout.trim();
  if (signing) {
    throw new SigningError(
      `git could not sign the commit (commit.gpgsign is true, gpg.format ${signing.format}): ${firstLines(made.stderr)}. ` +
        "Nothing was committed; fix the signing setup (user.signingkey, gpg.program, the agent) and run apply again",
    );
  }
  throw new GitError(`git commit-tree: ${firstLines(made.stderr)}`);
}

/** The gist of a git error: its first few non-empty lines, joined. */
const firstLines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 4)
    .join("; ") || "no message";

/** The hooks `git commit` would run; `apply --commit` builds its commit with plumbing, which runs none. */
export const COMMIT_HOOKS = ["pre-commit", "prepare-commit-msg", "commit-msg", "post-commit"] as const;

/** Which of COMMIT_HOOKS the repository has (executable, in `core.hooksPath` or `.git/hooks`). */
export async function commitHooks(cwd: string): Promise<string[]> {
  const dir = path.resolve(cwd, (await git(cwd, ["rev-parse", "--git-path", "hooks"])).stdout.trim());
  const found: string[] = [];
  for (const hook of COMMIT_HOOKS) {
    const file = path.join(dir, hook);
    const runnable = await stat(file)
      .then((s) => s.isFile() && access(file, constants.X_OK).then(() => true))
      .catch(() => false);
    if (runnable) found.push(hook);
  }
  return found;
}

async function fileMode(cwd: string, rev: string, file: string): Promise<string> {
  const { stdout } = await git(cwd, ["ls-tree", rev, "--", file]);
  const mode = stdout.split(" ")[0];
  return mode === "100755" ? "100755" : "100644";
}

/** The user's git identity when configured; else the bot's own, so CI runners can commit. */
async function commitIdentity(cwd: string): Promise<Record<string, string>> {
  const name = (await git(cwd, ["config", "user.name"], { allowFail: true })).stdout.trim();
  const email = (await git(cwd, ["config", "user.email"], { allowFail: true })).stdout.trim();
  const out: Record<string, string> = {};
  if (!name && !process.env.GIT_AUTHOR_NAME)
    Object.assign(out, { GIT_AUTHOR_NAME: "nomad-gitops-bot", GIT_COMMITTER_NAME: "nomad-gitops-bot" });
  if (!email && !process.env.GIT_AUTHOR_EMAIL) {
    Object.assign(out, {
      GIT_AUTHOR_EMAIL: "nomad-gitops-bot@users.noreply.github.com",
      GIT_COMMITTER_EMAIL: "nomad-gitops-bot@users.noreply.github.com",
    });
  }
  return out;
}

// Local git through execa with argument arrays (never a shell). Read-only helpers plus one commit
// written with plumbing, so the user's checkout, index and HEAD stay as they are.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { Commit } from "../core/release-notes.js";
import type { Relation } from "../core/plan.js";

export class GitError extends Error {}

export async function git(
  cwd: string,
  args: string[],
  options: { input?: string; env?: Record<string, string>; allowFail?: boolean } = {},
): Promise<{ stdout: string; exitCode: number }> {
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
  return { stdout: String(result.stdout), exitCode: result.exitCode ?? 1 };
}

/** Full commit id of a revision; GitError when it does not name a commit. */
export async function revParse(cwd: string, rev: string): Promise<string> {
  const { stdout, exitCode } = await git(cwd, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], {
    allowFail: true,
  });
  if (exitCode !== 0) throw new GitError(`"${rev}" is not a commit in ${cwd}`);
  return stdout.trim();
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

/**
 * One commit holding `files` on top of `parent`, stored on `branch` (created or moved there, like the
 * App's rolling branch). Uses a temporary index: the working tree, the real index and HEAD are untouched.
 */
export async function commitFiles(
  cwd: string,
  options: { branch: string; parent: string; message: string; files: Array<{ path: string; text: string }> },
): Promise<string> {
  const check = await git(cwd, ["check-ref-format", "--branch", options.branch], { allowFail: true });
  if (check.exitCode !== 0) throw new GitError(`"${options.branch}" is not a valid branch name`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "nomad-gitops-index-"));
  try {
    const env = { GIT_INDEX_FILE: path.join(tmp, "index") };
    await git(cwd, ["read-tree", options.parent], { env });
    for (const file of options.files) {
      const blob = (await git(cwd, ["hash-object", "-w", "--stdin"], { input: file.text })).stdout.trim();
      const mode = await fileMode(cwd, options.parent, file.path);
      await git(cwd, ["update-index", "--add", "--cacheinfo", `${mode},${blob},${file.path}`], { env });
    }
    const tree = (await git(cwd, ["write-tree"], { env })).stdout.trim();
    const identity = await commitIdentity(cwd);
    const commit = (
      await git(cwd, ["commit-tree", tree, "-p", options.parent, "-F", "-"], {
        input: options.message,
        env: identity,
      })
    ).stdout.trim();
    await git(cwd, ["update-ref", "-m", "nomad-gitops-bot apply", `refs/heads/${options.branch}`, commit]);
    return commit;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
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

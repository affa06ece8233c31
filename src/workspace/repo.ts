// The CLI's RepoPort: job files from the working tree, or from a commit's tree (`apply --commit`: the
// commit is that tree plus the bot's edits, so nothing uncommitted may go into it); history from git.
// Symlinks are never followed: a linked job file is reported, not read (it could point out of the
// repository) and never replaced by a regular file.
import { closeSync, constants, lstatSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { type RepoPort, SYMLINK_NOT_FOLLOWED as SYMLINK, type Unreadable } from "../core/ports.js";
import { matchesAny } from "../core/glob.js";
import * as git from "./git.js";

const NOT_UTF8: Unreadable = { unreadable: "not valid UTF-8; not read as a job file" };

const decode = (bytes: Uint8Array): string | Unreadable => {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return NOT_UTF8;
  }
};

/** @param at read the files of this commit instead of the working tree. */
export function localRepo(root: string, options: { at?: string } = {}): RepoPort {
  const at = options.at;
  let files: Promise<Map<string, string>> | null = null; // path → tree mode ("" in the working tree)
  const listed = () =>
    (files ??= at
      ? git.treeEntries(root, at).then((entries) => new Map(entries.map((e) => [e.path, e.mode])))
      : git.listFiles(root).then((paths) => new Map(paths.map((p) => [p, ""]))));
  const logs = new Map<string, ReturnType<typeof git.logWithFiles>>();
  // Asked by the provenance checks (step 2) and the never-downgrade checks (step 3): three git
  // processes per pair, answered once, as the App's port does.
  const relations = new Map<string, ReturnType<typeof git.compare>>();
  return {
    async listFiles(globs) {
      return [...(await listed()).keys()].filter((f) => matchesAny(f, globs)).sort();
    },
    async readFiles(paths) {
      return at ? readAtCommit(root, at, await listed(), paths) : readWorkingTree(root, paths);
    },
    // One `git log` per range, filtered per service here: the same range serves every service.
    async commitsTouching(from, to, globs) {
      const key = `${from}..${to}`;
      let log = logs.get(key);
      if (!log) logs.set(key, (log = git.logWithFiles(root, from, to)));
      return (await log)
        .filter((c) => c.files.some((f) => matchesAny(f, globs)))
        .map(({ files: _files, ...commit }) => commit);
    },
    compare(base, head) {
      const key = `${base}...${head}`;
      let relation = relations.get(key);
      if (!relation) relations.set(key, (relation = git.compare(root, base, head)));
      return relation;
    },
    // The deploy commit that wrote a digest-only pin: 100 commits per path, as the App's history query.
    async deployCommits(paths) {
      const { stdout } = await git.git(root, [
        "log",
        `--max-count=${100 * paths.length}`,
        "--format=%x1e%H%x1f%P%x1f%B",
        at ?? "HEAD",
        "--",
        ...paths,
      ]);
      return stdout
        .split("\x1e")
        .filter((record) => record.includes("\x1f"))
        .map((record) => {
          const [sha, parents, message] = record.split("\x1f") as [string, string, string];
          const parent = parents.split(" ")[0];
          return { sha, message, ...(parent ? { parent } : {}) };
        });
    },
  };
}

// O_NOFOLLOW: a symlink fails to open (ELOOP; EMLINK on some BSDs) instead of being followed, with no
// window between a check and the read. Without the flag (Windows), lstat checks first.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Synchronous on purpose: nothing else runs while the job files are read, and a plain read of a small
 * file costs a fraction of the promise API's open, stat, read and close round trips to the thread pool.
 */
function readWorkingTree(root: string, paths: readonly string[]) {
  const out = new Map<string, string | Unreadable>();
  for (const p of paths) {
    const file = path.join(root, p);
    let fd: number | undefined;
    try {
      if (NOFOLLOW === 0 && lstatSync(file).isSymbolicLink()) {
        out.set(p, SYMLINK);
        continue;
      }
      fd = openSync(file, constants.O_RDONLY | NOFOLLOW);
      out.set(p, decode(readFileSync(fd)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ELOOP" || code === "EMLINK") out.set(p, SYMLINK);
      else if (code !== "ENOENT")
        out.set(p, { unreadable: `cannot read it (${code ?? (error as Error).message})` });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return out;
}

async function readAtCommit(
  root: string,
  at: string,
  modes: ReadonlyMap<string, string>,
  paths: readonly string[],
) {
  const out = new Map<string, string | Unreadable>();
  const regular = paths.filter((p) => {
    const mode = modes.get(p);
    if (mode === "120000") out.set(p, SYMLINK);
    return mode === "100644" || mode === "100755";
  });
  for (const [p, bytes] of await git.readBlobs(root, at, regular)) out.set(p, decode(bytes));
  return out;
}

// The CLI's RepoPort: job files from the working tree, history from local git.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { RepoPort, Unreadable } from "../core/ports.js";
import { matchesAny } from "../core/glob.js";
import * as git from "./git.js";

export function localRepo(root: string): RepoPort {
  let files: Promise<string[]> | null = null;
  const logs = new Map<string, ReturnType<typeof git.logWithFiles>>();
  return {
    async listFiles(globs) {
      files ??= git.listFiles(root);
      return (await files).filter((f) => matchesAny(f, globs)).sort();
    },
    async readFiles(paths) {
      const out = new Map<string, string | Unreadable>();
      await Promise.all(
        paths.map(async (p) => {
          try {
            out.set(p, await readFile(path.join(root, p), "utf8"));
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code !== "ENOENT")
              out.set(p, { unreadable: `cannot read it (${code ?? (error as Error).message})` });
          }
        }),
      );
      return out;
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
    compare: (base, head) => git.compare(root, base, head),
  };
}

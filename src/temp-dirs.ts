// The bot's own temporary directories: each short operation that needs one (a skopeo copy's digest file,
// a CLI commit's git index) gets a private directory named `nomad-gitops-<kind>-XXXXXX`, removed when the
// operation ends. A process killed outright (SIGKILL, OOM) cannot remove its own, so each start of the CLI
// or the App removes the ones left behind: ours by name and owner, and older than any live one can be.
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export type TempKind = "skopeo" | "index";

/** A skopeo attempt is cut at 30 minutes and a git index lives seconds: an older directory is nobody's. */
export const STALE_AFTER_MS = 2 * 60 * 60_000;

const OURS = /^nomad-gitops-(?:skopeo|index)-[A-Za-z0-9]{6}$/;

/** A new private directory for one operation of `kind`, under the OS temp directory. */
export function makeTempDir(kind: TempKind): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `nomad-gitops-${kind}-`));
}

/**
 * Removes the directories a killed process of ours left under the OS temp directory: named by
 * makeTempDir, owned by this user, not a symbolic link, and untouched for STALE_AFTER_MS. Best effort:
 * what cannot be read or removed is left alone, and nothing here ever fails a start. Returns what it removed.
 */
export async function sweepStaleTempDirs(now = Date.now()): Promise<string[]> {
  const uid = process.getuid?.();
  if (uid === undefined) return [];
  const root = os.tmpdir();
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => OURS.test(n))) {
    const dir = path.join(root, name);
    try {
      const stat = await lstat(dir);
      if (!stat.isDirectory() || stat.uid !== uid || now - stat.mtimeMs < STALE_AFTER_MS) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Gone meanwhile, or not ours to remove: leave it.
    }
  }
  return removed;
}

// The working tree's file edge, shared by every CLI command that reads or writes repository files:
// reading without losing bytes, and the one atomic writer.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, chown, lstat, mkdir, rename, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Reads a job file as text. Invalid UTF-8 is refused rather than replaced, so writing the text back
 * cannot change bytes nobody meant to touch; a byte order mark is kept in the text.
 */
export async function readJobFile(file: string): Promise<string> {
  // Synchronous on purpose: a command reads its job files one at a time, and a plain read of a small
  // file costs a fraction of the promise API's open, stat, read and close trips to the thread pool.
  const bytes = readFileSync(file);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new Error("not valid UTF-8; not read as a job file");
  }
}

/**
 * Replaces (or creates) a file atomically: a temp file in the same directory, then rename, so a crash
 * never leaves half a file. An existing file keeps its mode (and its owner where the process may set
 * it); a new one gets 0644 less the umask. A symlink is refused: renaming over it would turn it into a
 * regular file, and following it could write outside the repository.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const existing = await lstat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  if (existing?.isSymbolicLink()) throw new Error(`${file} is a symlink; not replaced`);
  if (existing === null) await mkdir(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, text, { encoding: "utf8", mode: 0o644, flag: "wx" });
    // chmod, not writeFile's mode: that one is filtered by the umask (0775 would come back 0755).
    if (existing) await chmod(temp, existing.mode & 0o7777);
    if (existing && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()))
      await chown(temp, existing.uid, existing.gid).catch(() => undefined); // only root may give files away
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** A short message for an fs error (ENOENT etc.) without a stack. */
export function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e?.code === "ENOENT") return "no such file";
  if (e?.code === "EISDIR") return "is a directory";
  if (e?.code === "EACCES") return "permission denied";
  return e instanceof Error ? e.message : String(error);
}

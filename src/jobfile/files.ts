// The file edge of the job-file engine: reading without losing bytes, writing atomically.
import { randomBytes } from "node:crypto";
import { readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Reads a job file as text. Invalid UTF-8 is refused rather than replaced, so writing the text back
 * cannot change bytes nobody meant to touch; a byte order mark is kept in the text.
 */
export async function readJobFile(file: string): Promise<string> {
  const bytes = await readFile(file);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new Error("not valid UTF-8; not read as a job file");
  }
}

/** Replaces a file atomically (temp file in the same directory, then rename), keeping its mode. */
export async function writeJobFileAtomic(file: string, text: string): Promise<void> {
  const { mode } = await stat(file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, text, { encoding: "utf8", mode: mode & 0o7777, flag: "wx" });
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

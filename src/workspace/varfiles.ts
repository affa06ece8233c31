// Reading the var files of a job file from disk (the CLI's `images` and `pin`).
import { statSync } from "node:fs";
import { describeError, readJobFile } from "./files.js";
import type { VarFile } from "../jobfile/jobfile.js";
import { conventionalVarFile } from "../jobfile/varfiles.js";
import { type PackInput, packVariablesFile } from "../jobfile/pack.js";

/** The job's conventional var file when it exists, then the ones given with --var-file. */
export async function readVarFiles(job: string, named: string[]): Promise<VarFile[]> {
  const out: VarFile[] = [];
  const beside = conventionalVarFile(job);
  // Most jobs have none: asking first costs a stat, where a failed read costs an ENOENT error built
  // with its stack (about a tenth of a small file's whole scan in `images`).
  if (beside !== null && mayExist(beside)) {
    const text = await readJobFile(beside).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw new Error(`${beside}: ${describeError(error)}`);
    });
    if (text !== null) out.push({ path: beside, text });
  }
  for (const path of named) {
    try {
      out.push({ path, text: await readJobFile(path) });
    } catch (error) {
      throw new Error(`${path}: ${describeError(error)}`);
    }
  }
  return out;
}

/** False only when the file surely does not exist: any other answer is the read's to give. */
function mayExist(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return true;
  }
}

/**
 * A pack template with its pack's variables.hcl (null when the pack has none) and the values files
 * given with --var-file (later wins), for `images` and `pin`.
 */
export async function readPackTemplate(
  file: string,
  text: string,
  values: readonly VarFile[] = [],
): Promise<PackInput> {
  const path = packVariablesFile(file)!;
  const variables = await readJobFile(path).then(
    (t) => ({ path, text: t }),
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null;
      throw new Error(`${path}: ${describeError(error)}`);
    },
  );
  return { path: file, text, variables, values: [...values] };
}

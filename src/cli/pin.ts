import { parseArgs } from "node:util";
import { createTwoFilesPatch } from "diff";
import { describeError, readJobFile, writeFileAtomic } from "../workspace/files.js";
import { readPackTemplate, readVarFiles } from "../workspace/varfiles.js";
import { type PackInput, packVariablesFile, pinPackTemplate } from "../jobfile/pack.js";
import {
  JobFileError,
  type PinStyle,
  type PinTarget,
  PinVerificationError,
  pinImages,
} from "../jobfile/pin.js";
import { parseImageRef, repositoryOf, sameRepository } from "../image/reference.js";
import { type VarFile, analyzeJobFile } from "../jobfile/jobfile.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

const usage = `usage: nomad-gitops-bot pin [--style digest|tag+digest] [--dry-run] [--var-file FILE]... --set REPO=DIGEST... FILE...

Pins every image of REPO (any spelling of the same repository) in the job files to DIGEST, editing
only those strings (or the variable default, var file value or local they come from). The default
digest style writes REPO@DIGEST; tag+digest keeps the file's tag (REPO:TAG=DIGEST sets a tag), which
Nomad's Docker driver pulls by its tag (docs/config.md, pin). An existing digest is replaced.

  --set REPO=DIGEST   repeatable; DIGEST is sha256:<64 hex>
  --var-file FILE     values for variables, read after <job>.vars.hcl beside each job file; a value
                      an image comes from is pinned in the var file (for a Nomad Pack template:
                      values files over its pack's variables.hcl)
  --style STYLE       digest (default) or tag+digest (written as asked; podman refuses it, plan/apply never give it to podman tasks)
  --dry-run           print a unified diff, write nothing`;

export const command: Command = {
  summary: "Pin the images of Nomad job files to digests, editing only the image strings.",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: {
          style: { type: "string" },
          "dry-run": { type: "boolean", default: false },
          set: { type: "string", multiple: true, default: [] },
          "var-file": { type: "string", multiple: true, default: [] },
        },
        allowPositionals: true,
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { style, "dry-run": dryRun, set } = parsed.values;
    if (style !== undefined && style !== "tag+digest" && style !== "digest") {
      throw new UsageError(`--style must be tag+digest or digest, not ${JSON.stringify(style)}`);
    }
    const targets = set.map(parseSet);
    if (targets.length === 0) throw new UsageError("nothing to pin: give at least one --set REPO=DIGEST");
    const files = parsed.positionals;
    if (files.length === 0) throw new UsageError("no job files given");

    let failed = false;
    const used = new Set<PinTarget>();
    for (const file of files) {
      const options = { style: style as PinStyle | undefined, dryRun, varFiles: parsed.values["var-file"] };
      const ok = await pinFile(file, targets, options, io, used);
      failed ||= !ok;
    }
    for (const t of targets) {
      if (!used.has(t)) io.err(`warning: no image of ${t.repository} in the given files\n`);
    }
    return failed ? EXIT.partial : EXIT.ok;
  },
};

function parseSet(value: string): PinTarget {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new UsageError(`--set ${JSON.stringify(value)}: expected REPO=DIGEST`);
  const repo = value.slice(0, eq);
  const digest = value.slice(eq + 1);
  const ref = parseImageRef(repo);
  if (!ref || ref.digest !== null)
    throw new UsageError(`--set ${JSON.stringify(value)}: ${JSON.stringify(repo)} is not a repository`);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new UsageError(`--set ${JSON.stringify(value)}: the digest must be sha256:<64 lowercase hex>`);
  }
  const target: PinTarget = { repository: ref.transport + repositoryOf(ref), digest };
  if (ref.tag !== null) target.tag = ref.tag;
  return target;
}

async function pinFile(
  file: string,
  targets: PinTarget[],
  { style, dryRun, varFiles: named }: { style: PinStyle | undefined; dryRun: boolean; varFiles: string[] },
  io: CliIO,
  used: Set<PinTarget>,
): Promise<boolean> {
  let before: string;
  let varFiles: VarFile[];
  let pack: PackInput | null = null;
  try {
    before = await readJobFile(file);
    varFiles = await readVarFiles(file, named);
    if (packVariablesFile(file) !== null) pack = await readPackTemplate(file, before, varFiles);
  } catch (error) {
    io.err(`${file}: ${describeError(error)}\n`);
    return false;
  }
  let outcome;
  try {
    const options = style === undefined ? {} : { style };
    if (pack !== null) {
      // A pack template: the values live in the pack's variables.hcl (or the template's own strings).
      const pinned = await pinPackTemplate(pack, targets, options);
      varFiles = [...(pack.variables ? [pack.variables] : []), ...(pack.values ?? [])];
      const changed = new Map([...pinned.files].filter(([path]) => path !== file));
      outcome = { ...pinned, text: pinned.files.get(file) ?? before, varFiles: changed };
    } else outcome = await pinImages(before, targets, { varFiles, ...options });
  } catch (error) {
    if (error instanceof JobFileError || error instanceof PinVerificationError) {
      io.err(
        `${file}${error.line === null ? "" : `:${error.line}`}: ${error.message}; file left unchanged\n`,
      );
      return false;
    }
    throw error;
  }
  for (const e of outcome.edits) {
    for (const t of targets) if (sameRepository(t.repository, e.before)) used.add(t);
  }
  // An image already at the digest is found too (a re-run): it is no reason to warn.
  for (const repository of await repositoriesIn(outcome.text)) {
    for (const t of targets) if (sameRepository(t.repository, repository)) used.add(t);
  }
  for (const s of outcome.skipped) {
    for (const t of targets) if (sameRepository(t.repository, s.repository)) used.add(t);
    io.err(`${file}:${s.line}: ${s.repository} not pinned: ${s.reason}\n`);
  }
  // Var files first: a job file is only rewritten once the values it reads are in place.
  const writes = [
    ...[...outcome.varFiles].map(([path, after]) => ({
      path,
      before: varFiles.find((f) => f.path === path)!.text,
      after,
    })),
    { path: file, before, after: outcome.text },
  ].filter((w) => w.after !== w.before);
  for (const w of writes) {
    if (dryRun) {
      io.out(createTwoFilesPatch(w.path, w.path, w.before, w.after, undefined, undefined, { context: 3 }));
      continue;
    }
    try {
      await writeFileAtomic(w.path, w.after);
    } catch (error) {
      io.err(`${w.path}: could not write: ${describeError(error)}; file left unchanged\n`);
      return false;
    }
  }
  for (const e of outcome.edits) {
    const where =
      e.file !== undefined ? ` (in ${e.file})` : e.via === "literal" ? "" : ` (through a ${e.via})`;
    io.err(`${file}:${e.line}: ${e.before} -> ${e.after}${where}${dryRun ? " (dry run)" : ""}\n`);
  }
  return outcome.skipped.length === 0;
}

/** The repositories of the image sites a job file's text names as literals (tree-sitter only). */
async function repositoriesIn(text: string): Promise<string[]> {
  const analysis = await analyzeJobFile(text, { strict: false });
  if (!analysis.ok) return [];
  return analysis.sites.flatMap((site) => (site.ref ? [repositoryOf(site.ref)] : []));
}

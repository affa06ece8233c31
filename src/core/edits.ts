// Turning a plan into new job file texts through the job-file engine (pinImages). A file the engine
// refuses is left as it was and its services become errors; the other files still change.
import type { Config } from "../config/schema.js";
import type { TreeReading, VarFile } from "../jobfile/jobfile.js";
import { packInput, packVariablesFile, pinPackTemplate } from "../jobfile/pack.js";
import { type PinEdit, type PinOutcome, type PinStyle, type PinTarget, pinImages } from "../jobfile/pin.js";
import { type Plan, type ServicePlan, changing, countStatuses } from "./plan.js";

export interface FileChange {
  path: string;
  before: string;
  after: string;
  /** Job file edits (empty for release notes files). */
  edits: PinEdit[];
}

export interface EditResult {
  /** The plan with services whose edit failed turned into errors. */
  plan: Plan;
  /** Only files whose text changed, sorted by path. */
  files: FileChange[];
}

export async function editJobFiles(
  config: Config,
  input: Plan,
  texts: ReadonlyMap<string, string>,
  /** the var files each job file is read with (see scanJobFiles) */
  varFilesOf: ReadonlyMap<string, readonly string[]> = new Map(),
  /** the scan's tree-sitter reading of job files, by path: not parsed again before their edit */
  readings: ReadonlyMap<string, TreeReading> = new Map(),
  /** edits made ahead (editAhead), by path: used where this edit is the same */
  ahead: ReadonlyMap<string, EditAhead> = new Map(),
): Promise<EditResult> {
  const byFile = new Map<string, ServicePlan[]>();
  for (const s of changing(input)) {
    if (s.next?.digest == null) continue; // an archive not pushed yet: its digest is not known
    for (const file of s.files) byFile.set(file, [...(byFile.get(file) ?? []), s]);
  }
  const failed = new Map<string, string>();
  const files: FileChange[] = [];
  // Var files may serve several job files: each job is pinned against the var files as edited so far,
  // and a var file's change belongs to every job file that edited it.
  const varTexts = new Map<string, string>();
  const varEditors = new Map<string, Set<string>>();
  for (const [path, services] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
    const before = texts.get(path);
    if (before === undefined) {
      for (const s of services) failed.set(s.name, `${path}: file could not be read`);
      continue;
    }
    const targets: PinTarget[] = services.map((s) => ({
      repository: s.image,
      digest: s.next!.digest!,
      tag: s.next!.tag,
    }));
    try {
      // The engine gives podman tasks the digest-only pin they need whatever the style.
      const varFiles = (varFilesOf.get(path) ?? []).map((p) => ({
        path: p,
        text: varTexts.get(p) ?? texts.get(p) ?? "",
      }));
      const read = readings.get(path);
      const early = ahead.get(path);
      const same =
        early && varFiles.length === 0 && early.text === before && sameTargets(early.targets, targets);
      // An edit ahead that failed is made again here: its error (or a success) is this step's own.
      const out =
        (same ? await early.outcome.catch(() => undefined) : undefined) ??
        (await pinFile(path, before, targets, pinOptions(config, varFiles, read)));
      // A site of a moved image that the engine would not edit: the service cannot be fully pinned.
      for (const k of out.skipped) {
        for (const s of services) {
          if (s.sites.some((x) => x.file === path && x.line === k.line))
            failed.set(s.name, `${path}:${k.line}: ${k.reason}`);
        }
      }
      if (out.text !== before) files.push({ path, before, after: out.text, edits: out.edits });
      for (const [p, after] of out.varFiles) {
        varTexts.set(p, after);
        varEditors.set(p, new Set([...(varEditors.get(p) ?? []), path]));
      }
    } catch (error) {
      const line = (error as { line?: unknown }).line;
      const where = typeof line === "number" ? `${path}:${line}` : path;
      for (const s of services) failed.set(s.name, `${where}: ${(error as Error).message}`);
    }
  }
  const withVars = () => [
    ...files,
    ...[...varTexts].map(([p, after]) => ({ path: p, before: texts.get(p)!, after, edits: [] })),
  ];
  if (failed.size === 0)
    return { plan: input, files: withVars().sort((a, b) => a.path.localeCompare(b.path)) };
  // A service is all-or-nothing, and a file holds several services: spread failures until stable.
  const moving = changing(input);
  const poisoned = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of moving) {
      if (!failed.has(s.name) && s.files.some((f) => poisoned.has(f))) {
        failed.set(s.name, "shares a job file with a service whose edit failed");
      }
      if (failed.has(s.name)) {
        for (const f of s.files) {
          if (poisoned.has(f)) continue;
          poisoned.add(f);
          grew = true;
        }
      }
    }
    // A var file edited for a failed job file is dropped, and with it every job file that edited it.
    for (const [p, editors] of varEditors) {
      if (![...editors].some((e) => poisoned.has(e)) || poisoned.has(p)) continue;
      poisoned.add(p);
      for (const e of editors) poisoned.add(e);
      grew = true;
    }
  }
  const services = input.services.map((s) =>
    failed.has(s.name) ? { ...s, status: "error" as const, reason: failed.get(s.name)! } : s,
  );
  return {
    plan: { ...input, services, counts: countStatuses(services) },
    files: withVars()
      .filter((f) => !poisoned.has(f.path))
      .sort((a, b) => a.path.localeCompare(b.path)),
  };
}

/**
 * A job file's edit for one image, made and proven while the other lookups run (the deploy's step 1,
 * on the first digest that moved), so that step 4 only collects it. Kept only where step 4 asks the
 * same edit of the same text (editJobFiles); otherwise step 4 makes its own. The proof is the same
 * proof: the engine's, of the text that is kept.
 */
export interface EditAhead {
  text: string;
  targets: PinTarget[];
  /** Undefined: not made (no referee's thread loaded). */
  outcome: Promise<PinOutcome | undefined>;
}

/**
 * Starts an edit ahead, once the referee's thread has loaded: an edit ahead never has a proof wait on
 * a load, nor replaces a thread still loading (jobfile/parse.ts). Where no thread loads, it is not made.
 */
export function editAhead(
  config: Config,
  file: { path: string; text: string; targets: PinTarget[]; read: TreeReading | undefined },
  loaded: Promise<boolean>,
): EditAhead {
  const { path, text, targets, read } = file;
  const options = pinOptions(config, [], read);
  const outcome = loaded.then((ok) => (ok ? pinFile(path, text, targets, options) : undefined));
  outcome.catch(() => {}); // step 4 makes the edit again
  return { text, targets, outcome };
}

/** How a file is pinned, in step 4 and ahead alike: an edit ahead is kept only if made the same way. */
const pinOptions = (config: Config, varFiles: VarFile[], read: TreeReading | undefined) => ({
  style: config.pin,
  varFiles,
  ...(read ? { read } : {}),
});

const sameTargets = (a: PinTarget[], b: PinTarget[]) =>
  a.length === b.length &&
  a.every((t, i) => t.repository === b[i]!.repository && t.digest === b[i]!.digest && t.tag === b[i]!.tag);

/** A job file, or a Nomad Pack template whose values live in its pack's variables.hcl / values files. */
async function pinFile(
  path: string,
  text: string,
  targets: PinTarget[],
  options: { style?: PinStyle; varFiles: VarFile[]; read?: TreeReading },
): Promise<PinOutcome> {
  // The configured style, except for podman tasks, which always get the digest-only pin they can run.
  if (packVariablesFile(path) === null) return pinImages(text, targets, { ...options, podmanDigest: true });
  const style = { ...(options.style === undefined ? {} : { style: options.style }), podmanDigest: true };
  const out = await pinPackTemplate(packInput(path, text, options.varFiles), targets, style);
  const varFiles = new Map([...out.files].filter(([p]) => p !== path));
  return { text: out.files.get(path) ?? text, edits: out.edits, skipped: out.skipped, varFiles };
}

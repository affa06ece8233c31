// Step 1, scan: read every job file the config names and find its image sites. As soon as a file names
// a service's image, that image's tag lookup starts, so registry round trips overlap with parsing.
import type { Config } from "../config/schema.js";
import {
  type Analysis,
  type JobFileScan,
  type TreeReading,
  type VarFile,
  analyzeJobFile,
  findImages,
  publicSite,
} from "../jobfile/jobfile.js";
import { conventionalVarFile, isVarFile } from "../jobfile/varfiles.js";
import { packVariablesFile, scanPackTemplate } from "../jobfile/pack.js";
import { matchesAny } from "./glob.js";
import { type Discovery, discoverServices, jobGlobs, owningImage } from "./discovery.js";
import type { RegistryPort, RepoPort } from "./ports.js";

export interface Scanned {
  discovery: Discovery;
  /** Texts of the readable job files and var files, by path. */
  texts: Map<string, string>;
  /** The var files each job file was read with, in -var-file order (only jobs that have some). */
  varFiles: Map<string, string[]>;
  /**
   * What tree-sitter found in each small job file without var files, by path: the edit step starts
   * from it instead of parsing the file again (AnalyseOptions.read).
   */
  readings: Map<string, TreeReading>;
}

/**
 * The var files a job file is read with: `<job>.vars.hcl` beside it, then the config's `vars` matches.
 * A Nomad Pack template's: its pack's variables.hcl (the defaults), then its values files from `vars`.
 */
export function varFilesOf(config: Config, job: string, exists: (path: string) => boolean): string[] {
  const beside = packVariablesFile(job) ?? conventionalVarFile(job);
  const named = Object.entries(config.vars).flatMap(([glob, files]) =>
    matchesAny(job, [glob]) ? files : [],
  );
  return [...new Set([...(beside !== null && exists(beside) ? [beside] : []), ...named])];
}

/**
 * Scans every job file. By default with tree-sitter only (about 8× faster than findImages, which also
 * runs hcl2-parser): a file is only ever edited by pinImages, which re-validates strictly, so a file
 * that only hcl2-parser rejects can still not be written; it is merely not reported until then.
 */
export async function scanJobFiles(
  repo: RepoPort,
  config: Config,
  options: {
    strict?: boolean;
    onFile?: (path: string, scan: JobFileScan, text: string, context: ScannedFileContext) => void;
  } = {},
): Promise<Scanned> {
  // Var files are listed and read with the job files: still one listing and one bulk read.
  const named = new Set(Object.values(config.vars).flat());
  const listed = await repo.listFiles([...jobGlobs(config), "**/*.vars.hcl", "**/variables.hcl", ...named]);
  // A variables.hcl is read only when it is the pack variables of a listed template.
  const packVariables = new Set(listed.flatMap((p) => packVariablesFile(p) ?? []));
  const paths = listed.filter(
    (p) =>
      !/(^|\/)variables\.hcl$/.test(p) ||
      packVariables.has(p) ||
      named.has(p) ||
      matchesAny(p, jobGlobs(config)),
  );
  const read = await repo.readFiles(paths);
  const texts = new Map<string, string>();
  for (const [path, text] of read) if (typeof text === "string") texts.set(path, text);
  const varFiles = new Map<string, string[]>();
  const readings = new Map<string, TreeReading>();
  const scanned = [];
  const jobs = [...read.keys()].filter(
    (p) => !isVarFile(p) && !named.has(p) && !packVariables.has(p) && matchesAny(p, jobGlobs(config)),
  );
  for (const path of jobs.sort()) {
    const text = read.get(path)!;
    let scan: JobFileScan;
    if (typeof text !== "string") scan = { ok: false, error: text.unreadable, line: null, images: [] };
    else {
      const mine = varFilesOf(config, path, (p) => read.has(p));
      if (mine.length > 0) varFiles.set(path, mine);
      const missing = mine.filter((p) => !texts.has(p));
      scan =
        missing.length > 0
          ? { ok: false, error: `var file ${missing[0]} could not be read`, line: null, images: [] }
          : await scanText(
              path,
              text,
              options.strict ?? false,
              mine.map((p) => ({ path: p, text: texts.get(p)! })),
              (analysis) => readings.set(path, { text, analysis }),
            );
    }
    scanned.push({ path, scan });
    options.onFile?.(path, scan, typeof text === "string" ? text : "", {
      varFiles: varFiles.get(path)?.length ?? 0,
      read: readings.get(path),
    });
    // Parsing never waits on I/O: let registry responses in after every file, so a connection that
    // answered gets its next lookup at once instead of idling while a batch of files is parsed.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { discovery: discoverServices(config, scanned, paths), texts, varFiles, readings };
}

async function scanText(
  path: string,
  text: string,
  strict: boolean,
  varFiles: VarFile[],
  keep: (analysis: Analysis) => void,
): Promise<JobFileScan> {
  if (packVariablesFile(path) !== null) return scanPackTemplate(path, text, strict, varFiles);
  if (strict) return findImages(text, { varFiles });
  const analysis = await analyzeJobFile(text, { strict: false, varFiles });
  if (!analysis.ok) return { ok: false, error: analysis.error, line: analysis.line, images: [] };
  // A large file's reading holds its pieces (and has its own memo): only small ones are kept.
  if (varFiles.length === 0 && !analysis.items) keep(analysis);
  const reads = analysis.reads.length > 0 ? { reads: analysis.reads } : {};
  return { ok: true, images: analysis.sites.map(publicSite), ...reads };
}

/** What the scan knew of a job file besides its sites. */
export interface ScannedFileContext {
  /** How many var files it is read with. */
  varFiles: number;
  /** Its tree-sitter reading, when kept (Scanned.readings). */
  read: TreeReading | undefined;
}

/**
 * A job file whose lookup found a digest other than the one its site pins: likely to be edited.
 * `only`: the file names one image and is read without var files (not a pack template), so its edit
 * is this image's alone, and can be made ahead (core/edits.ts: editAhead).
 */
export interface MovedFile {
  path: string;
  text: string;
  image: string;
  digest: string;
  only: boolean;
  read: TreeReading | undefined;
}

/** Digest lookups of `image:tag`, each started at most once, awaited later by the resolve step. */
export type TagLookups = ReadonlyMap<string, Promise<string>>;

/**
 * Scans, starting the tag lookup of every service image as its file is parsed. With an `--images` map
 * nothing is looked up by tag here (the map says where each digest comes from). `readAhead` is given
 * the text of a job file as soon as a lookup finds a digest other than the one its site pins: that
 * file is likely to be edited (at most `readAheadMax` files).
 */
export async function scanWithLookups(
  options: {
    config: Config;
    repo: RepoPort;
    registry: RegistryPort;
    strict: boolean;
    byTag: boolean;
    readAhead?: (file: MovedFile) => void;
    readAheadMax?: number;
  },
  tag: string,
): Promise<Scanned & { lookups: TagLookups }> {
  const lookups = new Map<string, Promise<string>>();
  const ahead = new Set<string>();
  const readAhead = (file: Omit<MovedFile, "digest">, pinned: string | null) => (digest: string) => {
    if (digest === pinned || ahead.has(file.path) || ahead.size >= (options.readAheadMax ?? Infinity)) return;
    ahead.add(file.path);
    options.readAhead?.({ ...file, digest });
  };
  const onFile = (path: string, scan: JobFileScan, text: string, context: ScannedFileContext) => {
    if (!options.byTag) return;
    const owners = scan.images.map((site) => owningImage(options.config, path, site));
    const images = new Set(owners);
    const only =
      images.size === 1 && !images.has(null) && context.varFiles === 0 && packVariablesFile(path) === null;
    for (const [i, site] of scan.images.entries()) {
      const image = owners[i];
      const ref = image && `${image}:${tag}`;
      if (!ref) continue;
      let pending = lookups.get(ref);
      if (!pending) {
        pending = options.registry.digest(ref);
        pending.catch(() => {}); // handled when awaited
        lookups.set(ref, pending);
      }
      if (options.readAhead) {
        const file = { path, text, image, only, read: context.read };
        pending.then(readAhead(file, site.ref?.digest ?? null), () => {});
      }
    }
  };
  const scanned = await scanJobFiles(options.repo, options.config, { strict: options.strict, onFile });
  return { ...scanned, lookups };
}

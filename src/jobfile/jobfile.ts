// Finds the container images of a Nomad job file: the direct `image` attribute of a `config` block
// under a `task`, `sidecar_task` or `dynamic "task"`. Values are followed through variable defaults,
// var files and locals; whatever cannot be followed statically is reported, never guessed.
import type { Tree } from "web-tree-sitter";
import { parseTree, refereeRead, treeProblem } from "./parse.js";
import type { Item } from "./layout.js";
import { lineOfIndex, lineStarts } from "./lines.js";
import { bytesOver, kib } from "./size.js";
import { LARGE_FILE_CHARS, type PieceState, scanInPieces } from "./pieces.js";
import type { ImageRef } from "../image/reference.js";
import { child, children } from "./hcl.js";
import { type ExternalValue, Scanner } from "./scanner.js";
import { Syntax } from "./syntax.js";
import { analyzeJsonJobFile, looksLikeJson } from "./json.js";
import { type UnmanagedKind, hintFor } from "./reasons.js";
import { strictRuleProblem } from "./strict-rules.js";

export { decodeQuoted, encodeQuoted } from "./hcl.js";
export type { UnmanagedKind } from "./reasons.js";

export interface ImageSite {
  job: string | null;
  group: string | null;
  task: string | null;
  /** 1-based line of the `image` attribute */
  line: number;
  /** the task's driver when a literal */
  driver: string | null;
  /** as written (plain literal) | resolved value (variable default / local) | null */
  reference: string | null;
  /** parsed `reference` when valid */
  ref: ImageRef | null;
  /** pinImages can edit it */
  managed: boolean;
  /** why unmanaged */
  reason?: string;
  /** which case of unmanaged site it is */
  kind?: UnmanagedKind;
  /** what would make it pinnable */
  hint?: string;
  via: "literal" | "variable" | "local" | "expression";
  /** where a pin is written when that is not the image line itself: a var file (or null: this file) */
  literal?: { file: string | null; line: number; offset: number };
  /** lines of the other image sites that read the same literal: they are pinned together */
  shared?: number[];
}

/**
 * A value this file reads from another file (a var file, a pack's variables.hcl or values file): the
 * range of the expression read there. Pinning a literal in that range changes what this file reads.
 */
export interface ValueRead {
  file: string;
  start: number;
  end: number;
  /** 1-based line of the read in this file */
  line: number;
  /** the image site (its line) whose value this read is part of; absent: read elsewhere */
  site?: number;
}

export type JobFileScan =
  | { ok: true; images: ImageSite[]; reads?: ValueRead[] }
  | { ok: false; error: string; line: number | null; images: [] };

/** A job file that is not valid HCL2: never edited. */
export class JobFileError extends Error {
  constructor(
    message: string,
    readonly line: number | null,
  ) {
    // The line is kept apart so callers can print `file:line: message`.
    super(message);
    this.name = "JobFileError";
  }
}

/** Where an image's value can be changed: the source range of one string literal's content. */
export interface EditPoint {
  /** JS string indices of the literal's content (between the quotes, or one template literal part) */
  start: number;
  end: number;
  /** the decoded text of that literal */
  text: string;
  /** the decoded value of everything before it, which an edit must leave alone */
  prefix: string;
  /** no longer set by the HCL scanner (a heredoc keeps its form, see `heredoc`); kept for pack.ts */
  quote: boolean;
  /** the range is the line of a one-line heredoc: written without quotes or escapes but `$${`/`%%{` */
  heredoc?: boolean;
  /** the var file the literal is in; null: the job file */
  file: string | null;
  /** a string of a JSON job file (JSON escapes, not HCL's) */
  json?: boolean;
}

/** A `-var-file` style file (`name = value` lines) whose values override variable defaults. */
export interface VarFile {
  path: string;
  text: string;
}

/** An image site plus what pinImages needs to edit it. */
export interface SiteDetail extends ImageSite {
  edit: EditPoint | null;
}

export type Analysis =
  | {
      ok: true;
      sites: SiteDetail[];
      semantic: unknown;
      /** hcl2-parser's reading of each var file (strict analysis only) */
      varSemantics: Map<string, unknown>;
      /** values read from var files */
      reads: ValueRead[];
      /**
       * A file over LARGE_FILE_CHARS: `semantic` is null, and an edit is proven on the smallest of these
       * items that holds it, read by hcl2-parser on its own before and after (verify.ts).
       */
      items?: Item[];
      /** a file read in pieces (without var files): what each piece held, for re-reading only edited ones */
      pieces?: PieceState;
    }
  | { ok: false; error: string; line: number | null };

export interface AnalyseOptions {
  /** also ask hcl2-parser (default true) */
  strict?: boolean;
  /**
   * Without `strict`: still refuse what the rules HashiCorp's parser adds to tree-sitter's grammar
   * catch (strict-rules.ts), so a listing reports those files without loading the referee.
   */
  hclRules?: boolean;
  /** var files in -var-file order: a later file overrides an earlier one */
  varFiles?: readonly VarFile[];
  /**
   * This file's reading by tree-sitter alone (`strict: false`, no var files), made earlier: the plan's
   * scan. A strict reading of the same text then only asks the referee (tree-sitter would find the
   * same sites again). Ignored when the text differs, or with var files.
   */
  read?: TreeReading;
}

/** A text and what tree-sitter alone found in it (AnalyseOptions.read). */
export interface TreeReading {
  text: string;
  analysis: Analysis;
}

/**
 * Validates and scans. `strict` (the default) also asks hcl2-parser, whose verdict wins where
 * tree-sitter is more lenient; without it only tree-sitter runs (several times faster).
 */
export async function analyzeJobFile(text: string, options: AnalyseOptions = {}): Promise<Analysis> {
  const tooLarge = sizeProblem(text);
  if (tooLarge) return { ok: false, error: tooLarge, line: null };
  if (looksLikeJson(text)) {
    const json = analyzeJsonJobFile(text);
    return json.ok ? { ...json, varSemantics: new Map(), reads: [] } : json;
  }
  const strict = options.strict !== false;
  const known = strict ? readAgain(text, options) : null;
  if (known) {
    const checked = await refereeRead(text);
    // Refused: the whole reading below says where, when HashiCorp's parser does not.
    if (checked.ok) return { ...known, semantic: checked.value };
  }
  // A large file is read twice in a row (the plan's scan, then pinImages): the second read is the
  // first one's result. Without var files, strict and not read a large file the same way.
  const remembered = (options.varFiles ?? []).length === 0 && text.length > LARGE_FILE_CHARS;
  if (remembered && lastLarge?.text === text) return lastLarge.analysis;
  const trees: Tree[] = [];
  try {
    const vars = await readVarFiles(options.varFiles ?? [], strict, trees, options.hclRules);
    let scanner = new Scanner(text, vars.external);
    const inPieces = text.length > LARGE_FILE_CHARS ? await scanInPieces(text, scanner) : null;
    let sites: SiteDetail[];
    let semantic: unknown = null;
    if (inPieces) sites = inPieces.sites;
    else {
      const tree = await parseTree(text);
      trees.push(tree);
      const problem = treeProblem(tree);
      if (problem) return { ok: false, error: `not valid HCL2: ${problem.reason}`, line: problem.line };
      // One reading of the tree for the rules and the scan: each node crosses into WASM once.
      const root = Syntax.of(tree.rootNode, text);
      // Above LARGE_FILE_CHARS the referee reads only the items an edit is in (verify.ts).
      if (strict && text.length <= LARGE_FILE_CHARS) {
        const checked = await refereeRead(text);
        if (!checked.ok) {
          const known = strictRuleProblem(root, text);
          const why =
            known?.reason ?? "rejected by HashiCorp's HCL parser (hcl2-parser), which does not say where";
          return { ok: false, error: `not valid HCL2: ${why}`, line: known?.line ?? null };
        }
        semantic = checked.value;
      } else if (!strict && options.hclRules) {
        const known = strictRuleProblem(root, text);
        if (known) return { ok: false, error: `not valid HCL2: ${known.reason}`, line: known.line };
      }
      // A fresh scanner: a failed piece scan may have seen part of the file.
      if (text.length > LARGE_FILE_CHARS) scanner = new Scanner(text, vars.external);
      sites = scanner.scan(root);
    }
    if (!vars.ok) return vars.problem;
    const reads = scanner.externalReads();
    const texts = new Map((options.varFiles ?? []).map((f) => [f.path, f.text]));
    const starts = new Map<string | null, number[]>();
    for (const site of sites) {
      // A plain literal is read by its own site only: no need to say where it is.
      if (site.edit && (site.edit.file !== null || site.via !== "literal")) {
        const file = site.edit.file;
        let lines = starts.get(file);
        if (!lines) starts.set(file, (lines = lineStarts(file === null ? text : texts.get(file)!)));
        site.literal = { file, line: lineOfIndex(lines, site.edit.start), offset: site.edit.start };
      }
    }
    const large = text.length > LARGE_FILE_CHARS;
    // Without an outline (the pieces did not parse on their own) the one item is the whole file.
    const items = inPieces?.items ?? [{ start: 0, end: text.length, depth: 0 as const }];
    const reuse = inPieces && (options.varFiles ?? []).length === 0 ? { pieces: inPieces.state } : {};
    const proof = large ? { items, ...reuse } : {};
    const analysis: Analysis = { ok: true, sites, semantic, varSemantics: vars.semantics, reads, ...proof };
    if (remembered) lastLarge = { text, analysis };
    return analysis;
  } finally {
    for (const t of trees) t.delete();
  }
}

/** An earlier tree-sitter reading of this very text that a strict reading may start from, if any. */
function readAgain(text: string, options: AnalyseOptions) {
  const read = options.read;
  if (!read?.analysis.ok || read.text !== text || (options.varFiles ?? []).length > 0) return null;
  // A large file's proof goes by items (semantic stays null); it has its own memo (lastLarge).
  if (read.analysis.items || text.length > LARGE_FILE_CHARS || looksLikeJson(text)) return null;
  return read.analysis;
}

/** The last large file read, and what was found (results are only read, as hcl2Object's). */
let lastLarge: { text: string; analysis: Analysis } | null = null;

type VarFilesRead =
  | { ok: true; external: Map<string, ExternalValue>; semantics: Map<string, unknown> }
  | {
      ok: false;
      external: Map<string, ExternalValue>;
      semantics: Map<string, unknown>;
      problem: { ok: false; error: string; line: null };
    };

/** The var files' values (their trees join `trees`, for the caller to free), or the first one's problem. */
async function readVarFiles(
  files: readonly VarFile[],
  strict: boolean,
  trees: Tree[],
  hclRules = false,
): Promise<VarFilesRead> {
  const external = new Map<string, ExternalValue>();
  const semantics = new Map<string, unknown>();
  for (const file of files) {
    const tooLarge = bytesOver(file.text, MAX_VAR_FILE_BYTES);
    if (tooLarge !== null) {
      const error = `var file ${file.path} is ${kib(tooLarge)}; a var file may be at most ${kib(MAX_VAR_FILE_BYTES)}`;
      return { ok: false, external, semantics, problem: { ok: false, error, line: null } };
    }
    const varTree = await parseTree(file.text);
    trees.push(varTree);
    const bad = treeProblem(varTree);
    const checked = strict && !bad ? await refereeRead(file.text) : null;
    const ruled =
      !strict && !bad && hclRules
        ? strictRuleProblem(Syntax.of(varTree.rootNode, file.text), file.text)
        : null;
    if (bad || ruled || (checked && !checked.ok)) {
      const why = bad?.reason ?? ruled?.reason ?? "rejected by HashiCorp's HCL parser (hcl2-parser)";
      const line = bad?.line ?? ruled?.line;
      const at = line ? `:${line}` : "";
      const error = `var file ${file.path}${at} is not valid HCL2: ${why}`;
      return { ok: false, external, semantics, problem: { ok: false, error, line: null } };
    }
    if (checked?.ok) semantics.set(file.path, checked.value);
    const body = child(varTree.rootNode, "body");
    for (const attr of body ? children(body, "attribute") : []) {
      const name = child(attr, "identifier")?.text;
      const expr = child(attr, "expression");
      if (name && expr) external.set(name, { file: file.path, expr });
    }
  }
  return { ok: true, external, semantics };
}

/**
 * Larger job files are refused before any parser sees them. Chosen from `npm run bench -- memory`:
 * `plan`/`apply` of a 5 MiB file peak at about 230 MiB of RSS and grow by about 10 MiB and 0.3 s of
 * CPU per further MiB (1, 2.5 and 5 MiB measured), so a file of 8 MiB stays well within the App's
 * 512 MiB container.
 */
export const MAX_JOB_FILE_BYTES = 8 * 1024 * 1024;

/**
 * A var file is parsed whole by both parsers (no pieces, unlike a large job file) and its values are
 * held for the whole scan: it is bounded like a config or a pack's values file.
 */
export const MAX_VAR_FILE_BYTES = 1024 * 1024;

/** Why a text is too large to read as a job file; null when it is not. */
export function sizeProblem(text: string): string | null {
  const bytes = bytesOver(text, MAX_JOB_FILE_BYTES);
  if (bytes === null) return null;
  return `the file is ${kib(bytes)}; a job file may be at most ${kib(MAX_JOB_FILE_BYTES)} (${MAX_JOB_FILE_BYTES / 2 ** 20} MiB): split it into several job files`;
}

export async function findImages(text: string, options: AnalyseOptions = {}): Promise<JobFileScan> {
  const analysis = await analyzeJobFile(text, options);
  if (!analysis.ok) return { ok: false, error: analysis.error, line: analysis.line, images: [] };
  const reads = analysis.reads.length > 0 ? { reads: analysis.reads } : {};
  return { ok: true, images: analysis.sites.map(publicSite), ...reads };
}

export function publicSite(site: SiteDetail): ImageSite {
  const { edit: _edit, ...rest } = site;
  return rest.kind === undefined ? rest : { ...rest, hint: hintFor(rest.kind) };
}

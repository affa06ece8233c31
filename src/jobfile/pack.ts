// Nomad Pack templates (`packs/<pack>/templates/*.nomad.tpl`): Go templates that render a job file,
// so they are read line by line, never parsed as HCL. An image written as `[[ var "image" . ]]`
// (nomad-pack v2) or `[[ .my_pack.image ]]` (v1), optionally inside a quoted string after a fixed
// prefix, comes from the pack's variables.hcl default (or a values file): that literal is pinned.
// The steps live in pack/: the template's lines (`template.ts`), the pack's variables (`values.ts`),
// an image value followed to its literal (`resolve.ts`), and the sharing check (`sharing.ts`).
import type { Tree } from "web-tree-sitter";
import { type JobFileScan, type SiteDetail, type ValueRead, type VarFile, publicSite } from "./jobfile.js";
import { type PackInput, packInput, packSizeProblem, packSources } from "./pack/input.js";
import { resolveSite } from "./pack/resolve.js";
import { settle } from "./pack/sharing.js";
import { templateReads, templateSites } from "./pack/template.js";
import { readPackValues, valueReads } from "./pack/values.js";
import {
  JobFileError,
  type PinEdit,
  type PinOutcome,
  type PinStyle,
  type PinTarget,
  PinVerificationError,
  applySplices,
  planPins,
  validateTarget,
} from "./pin.js";
import { semanticDiff, unchangedOutside } from "./verify.js";

export {
  MAX_PACK_TEMPLATE_BYTES,
  MAX_PACK_VALUES_BYTES,
  type PackInput,
  packInput,
  packName,
  packVariablesFile,
} from "./pack/input.js";

/** A template scanned for a deploy: its image sites (the values' literals in the pack's files). */
export async function scanPackTemplate(
  path: string,
  text: string,
  strict: boolean,
  varFiles: readonly VarFile[],
): Promise<JobFileScan> {
  const analysis = await analyzePackTemplate(packInput(path, text, varFiles), strict);
  if (!analysis.ok) return { ok: false, error: analysis.error, line: analysis.line, images: [] };
  const reads = analysis.reads.length > 0 ? { reads: analysis.reads } : {};
  return { ok: true, images: analysis.sites.map(publicSite), ...reads };
}

export type PackAnalysis =
  | { ok: true; sites: SiteDetail[]; semantics: Map<string, unknown>; reads: ValueRead[] }
  | { ok: false; error: string; line: number | null };

/** Every task config `image =` line of a template, with its value resolved through the pack's variables. */
export async function analyzePackTemplate(input: PackInput, strict = true): Promise<PackAnalysis> {
  const tooLarge = packSizeProblem(input);
  if (tooLarge) return { ok: false, error: tooLarge, line: null };
  const trees: Tree[] = [];
  try {
    const read = await readPackValues(input, strict, trees);
    if (!read.ok) return { ok: false, error: read.error, line: null };
    const { values, semantics } = read;
    const raws = templateSites(input.text);
    const found = raws.map((s) => resolveSite(s, input, values));
    const reads = templateReads(input.text, input.path).map((r) => {
      const at = raws.findIndex((s) => r.at >= s.start && r.at < s.start + s.value.length);
      return { ...r, site: at === -1 ? null : raws[at]!.line };
    });
    const sites = settle(found, reads);
    const texts = new Map([
      [input.path, input.text],
      ...packSources(input).map((f) => [f.path, f.text] as const),
    ]);
    for (const site of sites) {
      // Where the pin is written, as for a job file's var files (null: the template itself).
      if (!site.edit || (site.edit.file === input.path && site.via === "literal")) continue;
      const file = site.edit.file === input.path ? null : site.edit.file;
      const at = texts.get(site.edit.file ?? input.path)!;
      site.literal = { file, line: at.slice(0, site.edit.start).split("\n").length, offset: site.edit.start };
    }
    return { ok: true, sites, semantics, reads: valueReads(reads, values) };
  } finally {
    for (const t of trees) t.delete();
  }
}

export interface PackPinOutcome {
  edits: PinEdit[];
  skipped: PinOutcome["skipped"];
  /** new texts of the files that changed: the pack's variables.hcl, a values file, or the template */
  files: Map<string, string>;
}

/** Pins a template's images where their values are written; verifies every changed file. */
export async function pinPackTemplate(
  input: PackInput,
  targets: PinTarget[],
  options: { style?: PinStyle; podmanDigest?: boolean } = {},
): Promise<PackPinOutcome> {
  for (const t of targets) validateTarget(t);
  const analysis = await analyzePackTemplate(input);
  if (!analysis.ok) throw new JobFileError(analysis.error, analysis.line);
  const { edits, skipped, splices, expected } = planPins(
    analysis.sites,
    targets,
    options.style,
    options.podmanDigest,
  );
  const sources = [{ path: input.path, text: input.text }, ...packSources(input)];
  const files = new Map<string, string>();
  for (const f of sources) {
    const after = applySplices(f.text, f.path, splices);
    unchangedOutside(
      f.text,
      after,
      splices.filter((s) => s.file === f.path),
      ` of ${f.path}`,
    );
    if (after !== f.text) files.set(f.path, after);
  }
  if (files.size === 0) return { edits, skipped, files };
  const now = (f: { path: string; text: string }) => ({ path: f.path, text: files.get(f.path) ?? f.text });
  const again = await analyzePackTemplate({
    path: input.path,
    text: now(input).text,
    variables: input.variables && now(input.variables),
    values: input.values?.map(now),
  });
  if (!again.ok) throw new PinVerificationError(`the edited pack no longer parses: ${again.error}`);
  if (again.sites.length !== analysis.sites.length) {
    throw new PinVerificationError(
      `${analysis.sites.length} image sites before, ${again.sites.length} after`,
    );
  }
  analysis.sites.forEach((old, i) => {
    const want = expected.get(old) ?? old.reference;
    if (again.sites[i]!.line !== old.line || again.sites[i]!.reference !== want) {
      throw new PinVerificationError(
        `image is ${JSON.stringify(again.sites[i]!.reference)}, expected ${JSON.stringify(want)}`,
        old.line,
      );
    }
  });
  for (const [path, before] of analysis.semantics) {
    const mine = splices.filter((s) => s.file === path);
    const text = sources.find((f) => f.path === path)!.text;
    semanticDiff(before, again.semantics.get(path), mine, text, ` in ${path}`);
  }
  return { edits, skipped, files };
}

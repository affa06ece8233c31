// Pins image sites to digests by splicing string literals, back to front: every character outside the
// edited literals stays as it was (CRLF, tabs, comments, non-ASCII, a missing final newline).
import {
  type ImageSite,
  JobFileError,
  type SiteDetail,
  type TreeReading,
  type VarFile,
  analyzeJobFile,
} from "./jobfile.js";
import { formatImageRef, parseImageRef, repositoryOf, sameRepository } from "../image/reference.js";
import { type Splice, verifyPin, written } from "./verify.js";

export { JobFileError } from "./jobfile.js";
export { PinVerificationError } from "./verify.js";

export type PinStyle = "tag+digest" | "digest";

/** tag given: set that tag; absent: keep the file's tag */
export interface PinTarget {
  repository: string;
  digest: string;
  tag?: string;
}

export interface PinEdit {
  line: number;
  job: string | null;
  group: string | null;
  task: string | null;
  before: string;
  after: string;
  via: ImageSite["via"];
  /** the var file whose literal was edited; absent: the job file */
  file?: string;
}

export interface PinOutcome {
  text: string;
  edits: PinEdit[];
  skipped: Array<{ line: number; repository: string; reason: string }>;
  /** new texts of the var files that changed */
  varFiles: Map<string, string>;
}

/**
 * Default style digest (docs/config.md `pin` says why); tag+digest only when asked for. Throws JobFileError (invalid HCL2, has .line) or
 * PinVerificationError (an edit failed verification: nothing returned). Sites whose repository is in
 * no target are untouched.
 */
export async function pinImages(
  text: string,
  targets: PinTarget[],
  options: {
    style?: PinStyle;
    varFiles?: readonly VarFile[];
    podmanDigest?: boolean;
    /** the scan's tree-sitter reading of `text`: not read again before the edit (AnalyseOptions.read) */
    read?: TreeReading;
  } = {},
): Promise<PinOutcome> {
  for (const t of targets) validateTarget(t);
  const varFiles = options.varFiles ?? [];
  const analysis = await analyzeJobFile(text, { varFiles, ...(options.read ? { read: options.read } : {}) });
  if (!analysis.ok) throw new JobFileError(analysis.error, analysis.line);

  const { edits, skipped, splices, expected } = planPins(
    analysis.sites,
    targets,
    options.style,
    options.podmanDigest,
  );
  if (splices.length === 0) return { text, edits, skipped, varFiles: new Map() };

  const out = applySplices(text, null, splices);
  const changed = new Map<string, string>();
  for (const f of varFiles) {
    const after = applySplices(f.text, f.path, splices);
    if (after !== f.text) changed.set(f.path, after);
  }
  await verifyPin({
    before: text,
    after: out,
    varFiles: varFiles.map((f) => ({ path: f.path, before: f.text, after: changed.get(f.path) ?? f.text })),
    sites: analysis.sites,
    semantic: analysis.semantic,
    ...(analysis.items ? { items: analysis.items } : {}),
    ...(analysis.pieces ? { pieces: analysis.pieces } : {}),
    varSemantics: analysis.varSemantics,
    expected,
    splices,
  });
  return { text: out, edits, skipped, varFiles: changed };
}

export interface PinPlan {
  edits: PinEdit[];
  skipped: PinOutcome["skipped"];
  /** one per literal: sites sharing a literal share its splice */
  splices: Splice[];
  /** the value each edited site must read afterwards */
  expected: Map<SiteDetail, string>;
}

/** Which literal each targeted site needs and what it becomes; sites sharing one move together or not at all. */
/**
 * `podmanDigest`: podman tasks get `digest` whatever the style (the config's pins: nomad-driver-podman
 * refuses a reference with both); without it an explicit style is written as asked (`pin --style`).
 */
export function planPins(
  sites: readonly SiteDetail[],
  targets: PinTarget[],
  style?: PinStyle,
  podmanDigest = false,
): PinPlan {
  const skipped: PinOutcome["skipped"] = [];
  const planned: Array<{ site: SiteDetail; repository: string; splice: Splice; edit: PinEdit }> = [];
  for (const site of sites) {
    if (!site.ref) continue;
    const repository = repositoryOf(site.ref);
    // The same spelling wins over a Docker Hub equivalent ("redis" vs "library/redis" both given).
    const target =
      targets.find((t) => repositoryOf(parseImageRef(t.repository)!) === repository) ??
      targets.find((t) => sameRepository(t.repository, repository));
    if (!target) continue;
    if (!site.managed || !site.edit) {
      skipped.push({ line: site.line, repository, reason: site.reason ?? "not editable" });
      continue;
    }
    const chosen = podmanDigest && site.driver === "podman" ? "digest" : (style ?? "digest");
    const { prefix } = site.edit;
    const candidates = [pinned(site, target, chosen)];
    // Through `repo:${var.tag}` only the tag literal is editable, so the tag has to stay.
    if (chosen === "digest") candidates.push(pinned(site, target, "tag+digest"));
    const after = candidates.find((value) => value.startsWith(prefix));
    if (after === undefined) {
      skipped.push({
        line: site.line,
        repository,
        reason: "the new tag would change a part of the value outside the editable literal",
      });
      continue;
    }
    if (after === site.reference) continue;
    const splice: Splice = {
      start: site.edit.start,
      end: site.edit.end,
      from: site.edit.text,
      to: after.slice(prefix.length),
      ...(site.edit.heredoc ? { heredoc: true } : {}),
      file: site.edit.file,
      ...(site.edit.json ? { json: true } : {}),
    };
    const edit: PinEdit = {
      line: site.line,
      job: site.job,
      group: site.group,
      task: site.task,
      before: site.reference!,
      after,
      via: site.via,
      ...(site.edit.file === null ? {} : { file: site.edit.file }),
    };
    planned.push({ site, repository, splice, edit });
  }

  const byLiteral = new Map<string, typeof planned>();
  for (const p of planned) {
    const key = `${p.splice.file ?? ""}:${p.splice.start}`;
    byLiteral.set(key, [...(byLiteral.get(key) ?? []), p]);
  }
  const edits: PinEdit[] = [];
  const expected = new Map<SiteDetail, string>();
  const splices: Splice[] = [];
  for (const group of byLiteral.values()) {
    const lines = new Set(group.map((p) => p.site.line));
    const missing = group[0]!.site.shared?.filter((l) => !lines.has(l)) ?? [];
    const texts = new Set(group.map((p) => p.splice.to));
    if (missing.length > 0 || texts.size > 1) {
      const reason =
        missing.length > 0
          ? `its value is shared with line ${missing.join(", ")}, which is not pinned with it`
          : `its value is shared by lines ${[...lines].join(", ")}, which would need different values`;
      for (const p of group) skipped.push({ line: p.site.line, repository: p.repository, reason });
      continue;
    }
    splices.push(group[0]!.splice);
    for (const p of group) {
      expected.set(p.site, p.edit.after);
      edits.push(p.edit);
    }
  }
  edits.sort((a, b) => a.line - b.line);
  return { edits, skipped, splices, expected };
}

/** The text of one file with its splices applied. */
export function applySplices(source: string, file: string | null, splices: readonly Splice[]): string {
  // Front to back into parts joined once: splicing the whole text per edit is quadratic.
  const mine = splices.filter((s) => (s.file ?? null) === file).sort((a, b) => a.start - b.start);
  if (mine.length === 0) return source;
  const parts: string[] = [];
  let at = 0;
  for (const s of mine) {
    parts.push(source.slice(at, s.start), written(s));
    at = s.end;
  }
  parts.push(source.slice(at));
  return parts.join("");
}

function pinned(site: SiteDetail, target: PinTarget, style: PinStyle): string {
  const ref = site.ref!;
  const tag = style === "digest" ? null : (target.tag ?? ref.tag);
  return formatImageRef({ ...ref, tag, digest: target.digest });
}

export function validateTarget(target: PinTarget) {
  if (parseImageRef(target.repository) === null) {
    throw new TypeError(`not a repository: ${JSON.stringify(target.repository)}`);
  }
  if (
    !/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-f]{32,}$/.test(target.digest) ||
    parseImageRef(`x@${target.digest}`) === null
  ) {
    throw new TypeError(`not a digest: ${JSON.stringify(target.digest)} (expected sha256:<64 hex>)`);
  }
  if (target.tag !== undefined && parseImageRef(`x:${target.tag}`) === null) {
    throw new TypeError(`not a tag: ${JSON.stringify(target.tag)}`);
  }
}

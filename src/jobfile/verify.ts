// Checks a pinned text before anyone may use it. The splice is simple; this is the independent proof
// that it did only what was intended, using both parsers.
import { type Analysis, type SiteDetail, analyzeJobFile, encodeQuoted } from "./jobfile.js";
import { encodeJsonString } from "./json.js";
import type { Item } from "./layout.js";
import { lineAt, lineOfIndex, lineStarts } from "./lines.js";
import { refereeRead } from "./parse.js";
import { type PieceState, rescanEdited } from "./pieces.js";

/** An edit failed verification: the edited text must not be used. */
export class PinVerificationError extends Error {
  constructor(
    message: string,
    readonly line: number | null = null,
  ) {
    super(`pin verification failed: ${message}`);
    this.name = "PinVerificationError";
  }
}

/** One literal's content replaced: JS string indices into the original text, decoded old and new values. */
export interface Splice {
  start: number;
  end: number;
  from: string;
  to: string;
  /** the range is the line of a one-line heredoc (raw text, only `${`/`%{` doubled) */
  heredoc?: boolean;
  /** the var file it edits; null or absent: the job file */
  file?: string | null;
  /** a string of a JSON job file */
  json?: boolean;
}

/** The source text a splice writes. */
export function written(s: Splice): string {
  if (s.json) return encodeJsonString(s.to);
  return s.heredoc ? s.to.replace(/([$%])\{/g, "$1$1{") : encodeQuoted(s.to);
}

export interface PinCheck {
  before: string;
  after: string;
  /** the var files read with the job file, before and after (unchanged ones too) */
  varFiles?: Array<{ path: string; before: string; after: string }>;
  /** hcl2-parser's reading of each var file before */
  varSemantics?: ReadonlyMap<string, unknown>;
  /** image sites of `before` (strict analysis) */
  sites: SiteDetail[];
  /** hcl2-parser's reading of `before` */
  semantic: unknown;
  /** a large file's items (Analysis.items): the referee reads the ones holding an edit, not the file */
  items?: readonly Item[];
  /** a large file's pieces (Analysis.pieces): only those holding an edit are parsed again */
  pieces?: PieceState;
  /** the value each edited site must have afterwards */
  expected: ReadonlyMap<SiteDetail, string>;
  splices: Splice[];
}

export async function verifyPin(check: PinCheck): Promise<void> {
  const { before, after } = check;
  const varFiles = check.varFiles ?? [];
  const splices = check.splices.filter((s) => (s.file ?? null) === null);

  if (check.splices.some((s) => (s.file ?? null) !== null && !varFiles.some((f) => f.path === s.file))) {
    throw new PinVerificationError("an edit names a var file that was not read");
  }
  // 1. Outside the spliced ranges, every file is identical.
  unchangedOutside(before, after, splices, "");
  for (const f of varFiles) {
    unchangedOutside(
      f.before,
      f.after,
      check.splices.filter((s) => s.file === f.path),
      ` of ${f.path}`,
    );
  }

  // HashiCorp's parser reads the edited items in its own thread while this one does steps 2 and 3;
  // its verdict is step 4's.
  const proof = check.items
    ? proveOnItems(before, after, splices, check.items).then(
        () => null,
        (error: unknown) => error,
      )
    : null;

  // 2. It still parses, for both parsers.
  const again = await reread(check, splices);
  if (!again.ok)
    throw new PinVerificationError(`the edited file no longer parses: ${again.error}`, again.line);

  // 3. The same image sites in the same places; only the intended ones changed, to the intended value.
  if (again.sites.length !== check.sites.length) {
    throw new PinVerificationError(`${check.sites.length} image sites before, ${again.sites.length} after`);
  }
  // A splice that changed the number of lines would move the sites below it by exactly that much.
  const starts = lineStarts(before);
  const shifts = splices.map((s) => ({
    endLine: lineOfIndex(starts, s.end),
    delta: count(written(s), "\n") - count(before.slice(s.start, s.end), "\n"),
  }));
  const moved = (line: number) => line + shifts.reduce((n, s) => n + (s.endLine < line ? s.delta : 0), 0);
  check.sites.forEach((old, i) => {
    const now = again.sites[i]!;
    if (
      now.line !== moved(old.line) ||
      now.job !== old.job ||
      now.group !== old.group ||
      now.task !== old.task
    ) {
      throw new PinVerificationError("the image sites moved", old.line);
    }
    const want = check.expected.get(old) ?? old.reference;
    if (now.reference !== want) {
      throw new PinVerificationError(
        `image is ${JSON.stringify(now.reference)}, expected ${JSON.stringify(want)}`,
        old.line,
      );
    }
  });

  // 4. HashiCorp's reading of before and after differs exactly in the edited values, in every file.
  if (proof) {
    const refused = await proof;
    if (refused) throw refused;
  } else semanticDiff(check.semantic, again.semantic, splices, before, "");
  for (const f of varFiles) {
    const mine = check.splices.filter((s) => s.file === f.path);
    semanticDiff(
      check.varSemantics?.get(f.path),
      again.varSemantics.get(f.path),
      mine,
      f.before,
      ` in ${f.path}`,
    );
  }
}

/** The edited file read again: a large one only where it was edited, when that is shown to suffice. */
async function reread(check: PinCheck, splices: Splice[]): Promise<Analysis> {
  const varFiles = check.varFiles ?? [];
  if (check.pieces && varFiles.length === 0) {
    const edits = splices.map((s) => ({
      start: s.start,
      end: s.end,
      by: written(s).length - (s.end - s.start),
    }));
    const sites = await rescanEdited(check.pieces, check.before, check.after, edits);
    if (sites) return { ok: true, sites, semantic: null, varSemantics: new Map(), reads: [] };
  }
  return analyzeJobFile(check.after, { varFiles: varFiles.map((f) => ({ path: f.path, text: f.after })) });
}

export function unchangedOutside(before: string, after: string, splices: Splice[], where: string) {
  const ordered = [...splices].sort((a, b) => a.start - b.start);
  let at = 0;
  let offset = 0;
  for (const s of ordered) {
    if (s.start < at) throw new PinVerificationError(`two edits overlap${where}`);
    if (before.slice(at, s.start) !== after.slice(at + offset, s.start + offset)) {
      throw new PinVerificationError(`text outside the edited strings changed${where}`);
    }
    const text = written(s);
    if (after.slice(s.start + offset, s.start + offset + text.length) !== text) {
      throw new PinVerificationError(`an edited string does not hold its new value${where}`);
    }
    offset += text.length - (s.end - s.start);
    at = s.end;
  }
  if (before.slice(at) !== after.slice(at + offset))
    throw new PinVerificationError(`text after the last edit changed${where}`);
}

export function semanticDiff(a: unknown, b: unknown, splices: Splice[], before: string, where: string) {
  const diffs: Array<[unknown, unknown, string]> = [];
  collectDiffs(a, b, "", diffs);
  const unexplained = diffs.filter(([x, y]) => !splices.some((s) => explains(s, x, y, before)));
  if (unexplained.length > 0) {
    throw new PinVerificationError(
      `an unintended value changed at ${unexplained[0]![2] || "the top level"}${where}`,
    );
  }
  if (diffs.length !== splices.length) {
    throw new PinVerificationError(
      `${splices.length} values edited, ${diffs.length} changed in the parsed file${where}`,
    );
  }
}

/** A changed string is explained by a splice when only its end changed, from the old to the new literal. */
function explains(s: Splice, oldValue: unknown, newValue: unknown, before: string): boolean {
  if (typeof oldValue !== "string" || typeof newValue !== "string") return false;
  // A heredoc's value ends with the newline after its line: the same one on both sides.
  const newline = s.heredoc ? (/\r?\n$/.exec(oldValue)?.[0] ?? "") : "";
  if (newline && !newValue.endsWith(newline)) return false;
  const a = oldValue.slice(0, oldValue.length - newline.length);
  const b = newValue.slice(0, newValue.length - newline.length);
  // hcl2json renders a template by its source text, a plain string by its value: accept either form.
  const forms: Array<[string, string]> = [
    [s.from, s.to],
    [before.slice(s.start, s.end), written(s)],
  ];
  return forms.some(
    ([from, to]) =>
      a.endsWith(from) &&
      b.endsWith(to) &&
      a.slice(0, a.length - from.length) === b.slice(0, b.length - to.length),
  );
}

function collectDiffs(a: unknown, b: unknown, path: string, out: Array<[unknown, unknown, string]>) {
  if (Object.is(a, b)) return;
  const objA = typeof a === "object" && a !== null;
  const objB = typeof b === "object" && b !== null;
  if (!objA || !objB || Array.isArray(a) !== Array.isArray(b)) {
    out.push([a, b, path]);
    return;
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length || keysA.some((k, i) => k !== keysB[i])) {
    out.push([a, b, path]);
    return;
  }
  for (const k of keysA) {
    collectDiffs((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out);
  }
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/**
 * A large file's edits, proven on the smallest item (a top-level item, or an item directly inside a
 * top-level block: a job's group) that holds them: HashiCorp's parser must accept the item on its own
 * before and after, and read it differently only in the edited values. Sound because the item is a
 * whole body item (its start is a body-item start for tree-sitter and for layout.ts, which both also
 * found it balanced), HCL reads a body item the same wherever the body is, hcl2json turns a block into
 * JSON from its own body alone, and every byte outside the edits is already proven identical (step 1):
 * so the whole file's reading can change only inside these items, and only there in the edited values.
 */
async function proveOnItems(before: string, after: string, splices: Splice[], items: readonly Item[]) {
  const ordered = [...splices].sort((a, b) => a.start - b.start);
  const byItem = new Map<Item, Splice[]>();
  for (const s of ordered) {
    // Items are sorted by start, a depth-1 item after the depth-0 item holding it: the last wins.
    const item = items.findLast((i) => i.start <= s.start && s.end <= i.end);
    if (!item)
      throw new PinVerificationError("an edit lies outside every item of the file", lineAt(before, s.start));
    byItem.set(item, [...(byItem.get(item) ?? []), s]);
  }
  // Where each item lies in `after`: shifted by the edits before it.
  let shift = 0;
  let next = 0;
  const proofs = [...byItem]
    .sort(([a], [b]) => a.start - b.start)
    .map(([item, mine]) => {
      for (; next < ordered.length && ordered[next]!.end <= item.start; next++) {
        shift += written(ordered[next]!).length - (ordered[next]!.end - ordered[next]!.start);
      }
      const grow = mine.reduce((n, s) => n + written(s).length - (s.end - s.start), 0);
      const was = before.slice(item.start, item.end);
      const now = after.slice(item.start + shift, item.end + shift + grow);
      // All asked at once, from the referee's thread when a deploy started one (this thread then
      // never loads its bundle); the answers are checked in order.
      const read = Promise.all([refereeRead(was), refereeRead(now)]);
      return { item, mine, was, read };
    });
  for (const { item, mine, was, read } of proofs) {
    const line = lineAt(before, item.start);
    const [a, b] = await read;
    if (!a.ok)
      throw new PinVerificationError("HashiCorp's parser rejects the block that holds the edit", line);
    if (!b.ok) throw new PinVerificationError("HashiCorp's parser rejects the edited block", line);
    const local = mine.map((s) => ({ ...s, start: s.start - item.start, end: s.end - item.start }));
    semanticDiff(a.value, b.value, local, was, ` in the block at line ${line}`);
  }
}

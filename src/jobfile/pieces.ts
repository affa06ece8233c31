// A large job file, scanned a piece at a time along its outline (layout.ts): each piece is parsed with
// tree-sitter's included ranges (positions stay those of the whole file), scanned, and freed before
// the next, so memory follows the largest piece instead of the file. The referee reads the items that
// hold an edit (verify.ts), not the whole file. After an edit, only the pieces that hold one (and the
// variables and locals) are parsed again; the others' findings are moved, not found again.
import type { Tree } from "web-tree-sitter";
import { type Heredoc, type Item, type Layout, type Piece, layoutOf, outlineOf, without } from "./layout.js";
import { lineStarts } from "./lines.js";
import { parseRanges, treeProblem } from "./parse.js";
import type { SiteDetail } from "./jobfile.js";
import { type Collected, Scanner } from "./scanner.js";

/**
 * Files larger than this (JS string length) are parsed in pieces of about this size, and their edits
 * proven item by item. Below it nothing changes: one tree, and HashiCorp's parser reads the whole file
 * (about 1 s here at this size: it costs about 5 µs a byte).
 */
export const LARGE_FILE_CHARS = 256 * 1024;
const PIECE_CHARS = 256 * 1024;

/** What a scan in pieces found in each piece, undecided: a re-scan after an edit reuses it. */
export interface PieceState {
  layout: Layout;
  /** one per layout piece, in order */
  parts: Collected[];
}

export type PieceScan = { ok: true; sites: SiteDetail[]; items: Item[]; state: PieceState } | null;

/**
 * Scans `text` piece by piece (of about `budget` characters) with `scanner`. Null when the file has no
 * usable outline or a piece does not parse cleanly: the caller then parses it whole, which also gives
 * the verdict on a broken file.
 */
export async function scanInPieces(text: string, scanner: Scanner, budget = PIECE_CHARS): Promise<PieceScan> {
  const layout = layoutOf(text, budget);
  if (!layout || layout.pieces.length < 2) return null;
  const parts = await scanPieces(text, layout, scanner);
  if (!parts) return null;
  return { ok: true, sites: scanner.finish(), items: layout.items, state: { layout, parts } };
}

/** One edit of a text: the range it replaced, and how many characters longer it made the text. */
export interface Replaced {
  start: number;
  end: number;
  by: number;
}

/**
 * The sites of `after`, `before` (scanned in pieces into `state`) with `edits` made, parsing only the
 * pieces an edit is in and the variables and locals. Null when that cannot be shown to give what a
 * scan of the whole of `after` gives, so the caller scans it all: an edit outside one piece or among
 * the definitions, one that adds or removes a line, an outline that moved other than by the edits, or
 * an edited piece that no longer parses.
 */
export async function rescanEdited(
  state: PieceState,
  before: string,
  after: string,
  edits: readonly Replaced[],
): Promise<SiteDetail[] | null> {
  const ordered = [...edits].sort((a, b) => a.start - b.start);
  const at = mover(ordered);
  const { pieces, outline } = state.layout;
  const edited = new Set<number>();
  for (const e of ordered) {
    const i = pieces.findIndex((p) => p.ranges.some((r) => r.start <= e.start && e.end <= r.end));
    if (i === -1 || pieces[i]!.definitions) return null;
    edited.add(i);
  }
  // The same lines (no edit adds or removes one), and the outline of `after` is that of `before`,
  // moved: every unedited piece then reads the same text as before, cut the same way.
  if (lineStarts(before).length !== lineStarts(after).length) return null;
  const now = outlineOf(after);
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((x, k) => at(x) === b[k]);
  if (!now || !same(outline.top, now.top) || !same(outline.inner, now.inner)) return null;
  const bodies = (hs: readonly Heredoc[]) => hs.flatMap((h) => [h.start, h.end, h.open, h.close]);
  if (!same(bodies(outline.heredocs), bodies(now.heredocs))) return null;

  const scanner = new Scanner(after);
  const place = (piece: Piece): Piece => ({
    ...piece,
    ranges: piece.ranges.map((r) => ({ start: at(r.start), end: at(r.end) })),
    heredocs: piece.heredocs.map((h) => ({
      ...h,
      start: at(h.start),
      end: at(h.end),
      open: at(h.open),
      close: at(h.close),
    })),
  });
  const reuse = (i: number) => (pieces[i]!.definitions || edited.has(i) ? null : state.parts[i]!);
  const parts = await scanPieces(after, state.layout, scanner, { place, reuse, at });
  return parts ? scanner.finish() : null;
}

/** Where a position of the text before `edits` (sorted, disjoint) is after them. */
function mover(edits: readonly Replaced[]): (index: number) => number {
  const ends = edits.map((e) => e.end);
  const shifts: number[] = [0];
  for (const e of edits) shifts.push(shifts[shifts.length - 1]! + e.by);
  return (index) => {
    // how many edits end at or before `index`
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! <= index) lo = mid + 1;
      else hi = mid;
    }
    return index + shifts[lo]!;
  };
}

interface PieceOptions {
  /** where a piece of the layout is in this text (default: where the layout says) */
  place?: (piece: Piece) => Piece;
  /** what an earlier scan found in the piece, to adopt instead of parsing it */
  reuse?: (i: number) => Collected | null;
  /** where a position of that earlier text is in this one */
  at?: (index: number) => number;
}

/**
 * Parses and collects each piece of `layout` in `text` into `scanner` (or adopts what an earlier scan
 * found there), freeing each tree before the next but the definitions'. Null when a piece parsed has
 * a problem.
 */
async function scanPieces(
  text: string,
  layout: Layout,
  scanner: Scanner,
  { place = (p) => p, reuse = () => null, at = (i) => i }: PieceOptions = {},
): Promise<Collected[] | null> {
  const starts = lineStarts(text);
  const kept: Tree[] = [];
  const parts: Collected[] = [];
  try {
    for (const [i, original] of layout.pieces.entries()) {
      const known = reuse(i);
      if (known) {
        scanner.adopt(known, at);
        parts.push(known);
        continue;
      }
      const piece = place(original);
      const tree = await parsePiece(text, piece, starts);
      if (piece.definitions) kept.push(tree);
      try {
        if (treeProblem(tree)) return null;
        scanner.define(tree.rootNode);
        parts.push(scanner.collect(tree.rootNode));
      } finally {
        if (!piece.definitions) tree.delete();
      }
    }
    return parts;
  } finally {
    for (const t of kept) t.delete();
  }
}

/**
 * A piece's tree, read without the bodies of its plain heredocs when tree-sitter then opens and closes
 * each of them where the outline does (else the piece is read whole): the tree differs only in those
 * literals, which nothing reads from the tree.
 */
export async function parsePiece(text: string, piece: Piece, starts: readonly number[]): Promise<Tree> {
  if (piece.heredocs.length === 0) return parseRanges(text, piece.ranges, starts);
  const tree = await parseRanges(text, without(piece.ranges, piece.heredocs), starts);
  const marks = tree.rootNode.descendantsOfType("heredoc_identifier");
  const opened = new Set(marks.map((m) => m?.endIndex));
  const closed = new Set(marks.map((m) => m?.startIndex));
  if (piece.heredocs.every((h) => opened.has(h.open) && closed.has(h.close))) return tree;
  tree.delete();
  return parseRanges(text, piece.ranges, starts);
}

// A large job file, scanned a piece at a time along its outline (layout.ts): each piece is parsed with
// tree-sitter's included ranges (positions stay those of the whole file), scanned, and freed before
// the next, so memory follows the largest piece instead of the file. The referee reads the items that
// hold an edit (verify.ts), not the whole file.
import type { Tree } from "web-tree-sitter";
import { type Item, type Piece, layoutOf, without } from "./layout.js";
import { lineStarts } from "./lines.js";
import { parseRanges, treeProblem } from "./parse.js";
import type { SiteDetail } from "./jobfile.js";
import type { Scanner } from "./scanner.js";

/**
 * Files larger than this (JS string length) are parsed in pieces of about this size, and their edits
 * proven item by item. Below it nothing changes: one tree, and HashiCorp's parser reads the whole file
 * (about 1 s here at this size: it costs about 5 µs a byte).
 */
export const LARGE_FILE_CHARS = 256 * 1024;
const PIECE_CHARS = 256 * 1024;

export type PieceScan = { ok: true; sites: SiteDetail[]; items: Item[] } | null;

/**
 * Scans `text` piece by piece (of about `budget` characters) with `scanner`. Null when the file has no usable outline or a piece does
 * not parse cleanly: the caller then parses it whole, which also gives the verdict on a broken file.
 */
export async function scanInPieces(text: string, scanner: Scanner, budget = PIECE_CHARS): Promise<PieceScan> {
  const layout = layoutOf(text, budget);
  if (!layout || layout.pieces.length < 2) return null;
  const starts = lineStarts(text);
  const kept: Tree[] = [];
  try {
    for (const piece of layout.pieces) {
      const tree = await parsePiece(text, piece, starts);
      if (piece.definitions) kept.push(tree);
      try {
        if (treeProblem(tree)) return null;
        scanner.define(tree.rootNode);
        scanner.collect(tree.rootNode);
      } finally {
        if (!piece.definitions) tree.delete();
      }
    }
    return { ok: true, sites: scanner.finish(), items: layout.items };
  } finally {
    for (const t of kept) t.delete();
  }
}

/**
 * A piece's tree, read without the bodies of its plain heredocs when tree-sitter then opens and closes
 * each of them where the outline does (else the piece is read whole): the tree differs only in those
 * literals, which nothing reads from the tree.
 */
async function parsePiece(text: string, piece: Piece, starts: readonly number[]): Promise<Tree> {
  if (piece.heredocs.length === 0) return parseRanges(text, piece.ranges, starts);
  const tree = await parseRanges(text, without(piece.ranges, piece.heredocs), starts);
  const marks = tree.rootNode.descendantsOfType("heredoc_identifier");
  const opened = new Set(marks.map((m) => m?.endIndex));
  const closed = new Set(marks.map((m) => m?.startIndex));
  if (piece.heredocs.every((h) => opened.has(h.open) && closed.has(h.close))) return tree;
  tree.delete();
  return parseRanges(text, piece.ranges, starts);
}

// A large job file, scanned a piece at a time along its outline (layout.ts): each piece is parsed with
// tree-sitter's included ranges (positions stay those of the whole file), scanned, and freed before
// the next, so memory follows the largest piece instead of the file. The referee reads the items that
// hold an edit (verify.ts), not the whole file.
import type { Tree } from "web-tree-sitter";
import { type Item, layoutOf } from "./layout.js";
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
      const tree = await parseRanges(text, piece.ranges, starts);
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

// The outline of a large job file, found by one pass over its characters (no parser): where its
// top-level items start and end, and where the items inside a top-level block (a job's groups) do.
// tree-sitter's tree costs about 130 bytes of memory per byte parsed (wasm memory that is never given
// back), and HashiCorp's parser about 5 µs per byte, so a multi-MB file is parsed a few hundred KiB at
// a time along this outline, and an edit is proven on the item that holds it.
//
// The outline is only a plan for where to cut: every piece is still parsed, and a piece that does not
// parse cleanly sends the caller back to parsing the file whole, so a wrong outline can cost time but
// never change a verdict.

/** JS string indices, end exclusive; every range starts at the beginning of a line. */
export interface TextRange {
  start: number;
  end: number;
}

/** What one tree-sitter parse covers: its ranges, in order, read as one text. */
export interface Piece {
  ranges: TextRange[];
  /** the top-level variables and locals: kept until the whole file is scanned */
  definitions?: true;
  /** bodies of heredocs in these ranges that the parse may leave out (see Heredoc) */
  heredocs: Heredoc[];
}

/**
 * The body of a heredoc that tree-sitter can only read as one literal: no `${`, `%{` or NUL, and no
 * line but its last that starts with its marker. Parsing the text without such a body (the heredoc
 * read as empty) gives the same tree but for that literal, which nothing reads from the tree (a
 * heredoc's value is read from the text), at a fraction of the cost: a job's templates are often
 * most of its bytes. Whether tree-sitter closed it at `close` is checked on the tree.
 */
export interface Heredoc extends TextRange {
  /** where its opening marker ends (`<<EOF`), and where its closing one starts (on the line at `end`) */
  open: number;
  close: number;
}

/**
 * A body item on its own (a top-level item, or an item inside a top-level block): the unit an edit is
 * proven on when the file is too large for the referee to read whole.
 */
export interface Item extends TextRange {
  depth: 0 | 1;
}

export interface Layout {
  /** the first piece holds every top-level `variable`, `variables` and `locals` block */
  pieces: Piece[];
  /** sorted by start; depth-1 items lie inside a depth-0 item that is also listed */
  items: Item[];
  /** what the pieces were cut along (see Outline) */
  outline: Outline;
}

/**
 * Line starts where a new item may begin: `top` outside any block (from 0 to the text's length),
 * `inner` directly inside a top-level block's braces; and the heredoc bodies a parse may leave out.
 */
export interface Outline {
  top: number[];
  inner: number[];
  heredocs: Heredoc[];
}

const enum Ctx {
  Brace,
  Other,
  Interp,
  Quoted,
  Heredoc,
}

type PlainOrNot = Heredoc & { plain: boolean };

interface Frame {
  ctx: Ctx;
  /** a heredoc's closing marker */
  marker?: string;
  /** where a heredoc's opening marker ends and its body starts; whether no line yet makes it not plain */
  open?: number;
  body?: number;
  plain?: boolean;
}

const HEADER = /^[ \t]*[A-Za-z_][\w-]*(?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*[ \t]*\{[ \t]*\r?\n$/;
const CLOSING = /^[ \t]*\}[ \t]*(?:(?:#|\/\/)[^\n]*)?\r?\n?$/;
const DEFINITION = /^[ \t]*(?:variable|variables|locals)\b/;

/**
 * Cuts `text` into pieces of about `budget` characters along its items. Null when the text does not
 * balance (a string, heredoc or brace left open): such a file is parsed whole, for its error.
 */
export function layoutOf(text: string, budget: number): Layout | null {
  const found = outlineOf(text);
  if (!found) return null;
  const { top, inner, heredocs } = found;
  const items: Item[] = [];
  const definitions: TextRange[] = [];
  const pieces: Piece[] = [];
  let batch: TextRange[] = [];
  let batchSize = 0;
  const flush = () => {
    if (batch.length > 0) pieces.push({ ranges: batch, heredocs: heredocsIn(heredocs, batch) });
    batch = [];
    batchSize = 0;
  };
  const add = (range: TextRange) => {
    if (batchSize > 0 && batchSize + (range.end - range.start) > budget) flush();
    const last = batch[batch.length - 1];
    if (last && last.end === range.start) last.end = range.end;
    else batch.push({ ...range });
    batchSize += range.end - range.start;
  };

  let j = 0;
  for (let i = 0; i + 1 < top.length; i++) {
    const item = { start: top[i]!, end: top[i + 1]! };
    const within: number[] = [];
    while (j < inner.length && inner[j]! < item.end) {
      if (inner[j]! > item.start) within.push(inner[j]!);
      j++;
    }
    if (item.end - item.start > 0 && text.slice(item.start, item.end).trim() !== "") {
      items.push({ ...item, depth: 0 });
    }
    if (DEFINITION.test(text.slice(item.start, Math.min(item.end, item.start + 64)))) {
      definitions.push(item);
      continue;
    }
    const header = within.length >= 2 ? { start: item.start, end: within[0]! } : null;
    const closing = header ? { start: within[within.length - 1]!, end: item.end } : null;
    const splittable =
      header !== null &&
      closing !== null &&
      item.end - item.start > budget &&
      HEADER.test(text.slice(header.start, header.end)) &&
      CLOSING.test(text.slice(closing.start, closing.end));
    if (!splittable) {
      add(item);
      continue;
    }
    // A block larger than a piece: each piece reads its header, some of its items and its `}`.
    flush();
    let parts: TextRange[] = [];
    let size = 0;
    const emit = () => {
      const ranges = [header!, ...merge(parts), closing!];
      if (parts.length > 0) pieces.push({ ranges, heredocs: heredocsIn(heredocs, ranges) });
      parts = [];
      size = 0;
    };
    for (let k = 0; k + 1 < within.length; k++) {
      const part = { start: within[k]!, end: within[k + 1]! };
      if (text.slice(part.start, part.end).trim() !== "") items.push({ ...part, depth: 1 });
      if (size > 0 && size + (part.end - part.start) > budget) emit();
      parts.push(part);
      size += part.end - part.start;
    }
    emit();
  }
  flush();
  if (definitions.length > 0) {
    const ranges = merge(definitions);
    pieces.unshift({ ranges, definitions: true, heredocs: heredocsIn(heredocs, ranges) });
  }
  items.sort((a, b) => a.start - b.start || a.depth - b.depth);
  return { pieces, items, outline: found };
}

/** The text's outline; null when something is left open (a string, heredoc or brace). */
export function outlineOf(text: string): Outline | null {
  const found = boundaries(text);
  if (!found) return null;
  const heredocs = found.heredocs.filter((h) => h.plain).map(({ plain: _, ...h }) => h);
  return { ...found, heredocs };
}

/** The heredoc bodies (sorted) that lie in `ranges` (sorted, disjoint). */
function heredocsIn(heredocs: readonly Heredoc[], ranges: readonly TextRange[]): Heredoc[] {
  const out: Heredoc[] = [];
  let k = 0;
  for (const r of ranges) {
    while (k < heredocs.length && heredocs[k]!.start < r.start) k++;
    for (; k < heredocs.length && heredocs[k]!.end <= r.end; k++) out.push(heredocs[k]!);
  }
  return out;
}

/** `ranges` without the given heredoc bodies (each inside one range): what a piece's parse reads. */
export function without(ranges: readonly TextRange[], heredocs: readonly Heredoc[]): TextRange[] {
  const out: TextRange[] = [];
  let k = 0;
  for (const r of ranges) {
    let at = r.start;
    for (; k < heredocs.length && heredocs[k]!.end <= r.end; k++) {
      if (heredocs[k]!.start > at) out.push({ start: at, end: heredocs[k]!.start });
      at = heredocs[k]!.end;
    }
    if (r.end > at) out.push({ start: at, end: r.end });
  }
  return out;
}

function merge(ranges: TextRange[]): TextRange[] {
  const out: TextRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && last.end === r.start) last.end = r.end;
    else out.push({ ...r });
  }
  return out;
}

/** The outline, with every heredoc body and whether it is plain; null when something is left open. */
function boundaries(text: string): (Omit<Outline, "heredocs"> & { heredocs: PlainOrNot[] }) | null {
  const top = [0];
  const inner: number[] = [];
  const heredocs: PlainOrNot[] = [];
  const stack: Frame[] = [];
  const n = text.length;
  let lineStart = true;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const frame = stack[stack.length - 1];
    const ctx = frame?.ctx;
    if (ctx === Ctx.Heredoc) {
      if (lineStart) {
        const eol = text.indexOf("\n", i);
        const end = eol === -1 ? n : eol;
        const line = text.slice(i, end);
        if (line.trim() === frame!.marker) {
          stack.pop();
          const close = i + (line.length - line.trimStart().length);
          const { body, open, plain } = frame!;
          heredocs.push({ start: body!, end: i, open: open!, close, plain: plain! });
          i = end - 1;
          lineStart = false;
          continue;
        }
        // A line of the body. Only a line that may open an interpolation is read character by
        // character; the body is plain while no line could be an interpolation or its end.
        const interpolates = line.includes("${") || line.includes("%{");
        if (interpolates || line.includes("\0") || line.trimStart().startsWith(frame!.marker!))
          frame!.plain = false;
        const opens = interpolates || line.includes("$") || line.includes("%");
        if (!opens && end > i) {
          i = end - 1;
          lineStart = false;
          continue;
        }
      }
      lineStart = c === 10;
      if (c === 36 || c === 37) i = template(text, i, stack);
      continue;
    }
    if (ctx === Ctx.Quoted) {
      if (c === 92) i++;
      else if (c === 34) stack.pop();
      else if (c === 10) return null;
      else if (c === 36 || c === 37) i = template(text, i, stack);
      continue;
    }
    // code: the top level, a block or object body, brackets, an interpolation
    if (c === 10) {
      if (stack.length === 0) top.push(i + 1);
      else if (stack.length === 1 && ctx === Ctx.Brace) inner.push(i + 1);
      lineStart = true;
      continue;
    }
    lineStart = false;
    const next = text.charCodeAt(i + 1);
    if (c === 35 || (c === 47 && next === 47)) {
      const eol = text.indexOf("\n", i);
      i = (eol === -1 ? n : eol) - 1;
    } else if (c === 47 && next === 42) {
      const close = text.indexOf("*/", i + 2);
      if (close === -1) return null;
      i = close + 1;
    } else if (c === 34) stack.push({ ctx: Ctx.Quoted });
    else if (c === 123) stack.push({ ctx: Ctx.Brace });
    else if (c === 91 || c === 40) stack.push({ ctx: Ctx.Other });
    else if (c === 125 || c === 93 || c === 41) {
      if (stack.length === 0) return null;
      stack.pop();
    } else if (c === 60 && next === 60) {
      const m = /^<<-?([A-Za-z_][\w-]*)[ \t]*\r?\n/.exec(text.slice(i, i + 260));
      if (m) {
        const open = i + m[0].indexOf(m[1]!) + m[1]!.length;
        i += m[0].length - 1;
        stack.push({ ctx: Ctx.Heredoc, marker: m[1]!, open, body: i + 1, plain: true });
        lineStart = true;
      }
    }
  }
  if (stack.length > 0) return null;
  if (top[top.length - 1] !== n) top.push(n);
  heredocs.sort((a, b) => a.start - b.start);
  return { top, inner, heredocs };
}

/** At `$` or `%` inside a template: an interpolation opens, an escape (`$${`) is skipped. */
function template(text: string, i: number, stack: Frame[]): number {
  const c = text[i]!;
  if (text[i + 1] === c && text[i + 2] === "{") return i + 2;
  if (text[i + 1] === "{") {
    stack.push({ ctx: Ctx.Interp });
    return i + 1;
  }
  return i;
}

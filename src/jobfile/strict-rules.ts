// The rules HashiCorp's HCL parser (hclsyntax) enforces and tree-sitter's HCL grammar does not, located
// so that `images` (which edits nothing, so does not ask the referee) refuses what the referee refuses,
// with a line and a reason.
//
// Most of them are about newlines. tree-sitter treats a newline as space; hclsyntax makes it end an
// attribute, a block header, a block and an object element, except inside ( ), [ ], a `for`
// expression, ${ } and %{ } (hclsyntax's parser stops seeing newlines there), and it refuses a raw
// newline in a quoted string. Block comments are not newlines, even when they span lines; a `#` or `//`
// comment ends at one.
// Read through Syntax (syntax.ts), the reading the scan shares: each node crosses into WASM once.
import type { Syntax as Node } from "./syntax.js";
import { child, children } from "./hcl.js";
import { lineAt } from "./lines.js";

export interface StrictProblem {
  reason: string;
  /** 1-based */
  line: number;
}

/** The first rule (in the text's order) that `root`, parsed from `text` without error, breaks. */
export function strictRuleProblem(root: Node, text: string): StrictProblem | null {
  const rules = new Rules(text);
  const body = child(root, "body");
  if (body) rules.body(body, null);
  rules.characters(root);
  return rules.first === null ? null : { reason: rules.first.reason, line: rules.first.line };
}

/** Containers whose inside hclsyntax reads with newlines ignored, seen from outside as one token. */
const LOOSE_NODES = new Set(["tuple", "for_tuple_expr", "for_object_expr", "template_interpolation"]);
/** The parts of a template that are expressions, not text: `${ … }` and the `%{ … }` of directives. */
const TEMPLATE_CODE = new Set([
  "template_interpolation",
  "template_for_start",
  "template_for_end",
  "template_if_intro",
  "template_else_intro",
  "template_if_end",
]);
const OPENERS = new Set(["(", "["]);
const CLOSERS = new Set([")", "]"]);

class Rules {
  first: (StrictProblem & { index: number }) | null = null;

  constructor(private readonly text: string) {}

  /**
   * tree-sitter reads a carriage return without its line feed, a form feed and a vertical tab as space;
   * hclsyntax refuses them outside comments, except a form feed or vertical tab in a string's text.
   */
  characters(root: Node): void {
    for (const m of this.text.matchAll(/\r(?!\n)|[\f\v]/g)) {
      const inside = root.node.descendantForIndex(m.index, m.index + 1)?.type;
      if (inside === "comment" || (inside === "template_literal" && m[0] !== "\r")) continue;
      const name =
        m[0] === "\r"
          ? "a carriage return without a line feed"
          : `the control character ${JSON.stringify(m[0])}`;
      this.reportAt(m.index, lineAt(this.text, m.index), `${name} is not valid outside a comment`);
      return;
    }
  }

  /** A body's elements, each checked, and the newlines between them; `block` null: the file's body. */
  body(body: Node | null, block: Node | null): void {
    const elements = body ? significant(body) : [];
    const open = block ? child(block, "block_start") : null;
    const close = block ? child(block, "block_end") : null;
    if (block && open && close && !this.newlineBetween(open, elements[0] ?? close)) {
      this.oneLineBlock(open, elements, close);
    } else {
      for (let i = 0; i < elements.length; i++) {
        const next = elements[i + 1] ?? close;
        if (next && !this.newlineBetween(elements[i]!, next)) {
          this.report(
            next,
            `${describe(next)} is on the line where ${describe(elements[i]!)} ends: ${ending(elements[i]!)}`,
          );
        }
      }
    }
    if (body) this.setOnce(body);
    for (const element of elements) {
      if (element.type === "attribute") this.attribute(element);
      else if (element.type === "block") this.block(element);
    }
  }

  /** `{` with something on its line: a single attribute, then `}` on the same line. */
  private oneLineBlock(open: Node, elements: Node[], close: Node): void {
    if (elements.length > 1 || elements[0]?.type === "block") {
      this.report(open, "a one-line block may hold only a single attribute");
    } else if (elements[0] && this.newlineBetween(elements[0], close)) {
      this.report(
        elements[0],
        `a block whose attribute is on the line of its "{" must close on that line: put the "}" right after ${describe(elements[0])}, or the attribute on a line of its own`,
      );
    }
  }

  /** hclsyntax refuses an attribute set twice in one body. */
  private setOnce(body: Node): void {
    const seen = new Set<string>();
    for (const attr of children(body, "attribute")) {
      const name = child(attr, "identifier")?.text ?? "";
      if (seen.has(name)) this.report(attr, `attribute ${JSON.stringify(name)} is set twice`);
      seen.add(name);
    }
  }

  private attribute(attr: Node): void {
    this.onOneLine(this.tokens(attr), `${describe(attr)} is split across lines`);
  }

  private block(block: Node): void {
    const header: Token[] = [];
    for (const c of block.children) {
      if (!c || c.type === "comment") continue;
      if (c.type === "string_lit") this.quoted(c);
      header.push(token(c));
      if (c.type === "block_start") break;
    }
    this.onOneLine(header, `${describe(block)}: its "{" must be on the line of the block type and labels`);
    this.body(child(block, "body"), block);
  }

  /** An object constructor: newlines matter again inside it, as in a body. */
  private object(object: Node): void {
    const items = significant(object).filter((c) => c.type !== "object_start" && c.type !== "object_end");
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const next = items[i + 1];
      if (item.type !== "object_elem") continue;
      this.onOneLine(this.tokens(item), `the object element ${elementName(item)} is split across lines`);
      if (next?.type === "," && this.newlineBetween(item, next)) {
        this.report(next, `a "," in an object must be on the line where its element ends`);
      } else if (next?.type === "object_elem" && !this.newlineBetween(item, next)) {
        this.report(next, `object elements on one line need a "," between them`);
      }
    }
  }

  /** A quoted string's text (outside `${ }` and `%{ }`) may not hold a raw line break. */
  private quoted(quoted: Node): void {
    const holes: Node[] = [];
    const findHoles = (node: Node) => {
      for (const c of node.namedChildren) {
        if (!c) continue;
        if (TEMPLATE_CODE.has(c.type)) holes.push(c);
        else findHoles(c);
      }
    };
    findHoles(quoted);
    let from = quoted.startIndex;
    for (const hole of [...holes, null]) {
      const to = hole ? hole.startIndex : quoted.endIndex;
      const at = this.text.slice(from, to).search(/[\r\n]/);
      if (at !== -1) {
        const line =
          quoted.startPosition.row + 1 + countNewlines(this.text.slice(quoted.startIndex, from + at));
        this.reportAt(
          from + at,
          line,
          'a quoted string may not span lines: write a line break as "\\n", or use a heredoc (<<EOF)',
        );
        return;
      }
      if (hole) {
        this.loose(hole);
        from = hole.endIndex;
      }
    }
  }

  /** A heredoc's `<<EOF` ends its line: hclsyntax reads nothing after it, not even a space or a comment. */
  private heredoc(heredoc: Node): void {
    const marker = child(heredoc, "heredoc_identifier");
    if (marker && !/^\r?\n/.test(this.text.slice(marker.endIndex, marker.endIndex + 2))) {
      this.report(marker, `a heredoc's "<<${marker.text}" must be followed directly by a line break`);
    }
    this.loose(heredoc);
  }

  /**
   * The tokens of `node` as hclsyntax sees them where newlines count: a bracketed part is one token
   * from its opening to its closing bracket (its inside is checked as a loose part), and so is a string
   * or a heredoc.
   */
  private tokens(node: Node, out: Token[] = []): Token[] {
    let open: Node | null = null;
    let depth = 0;
    for (const c of node.children) {
      if (!c || c.type === "comment") continue;
      if (OPENERS.has(c.type)) {
        if (depth++ === 0) open = c;
      } else if (CLOSERS.has(c.type) && depth > 0) {
        if (--depth === 0) out.push({ first: open!, last: c });
      } else if (depth > 0) this.loose(c);
      else if (c.type === "object") {
        this.object(c);
        out.push(token(c));
      } else if (c.type === "quoted_template" || c.type === "string_lit") {
        this.quoted(c);
        out.push(token(c));
      } else if (c.type === "heredoc_template") {
        this.heredoc(c);
        out.push(token(c));
      } else if (LOOSE_NODES.has(c.type)) {
        this.loose(c);
        out.push(token(c));
      } else if (c.children.length === 0) out.push(token(c));
      else this.tokens(c, out);
    }
    return out;
  }

  /** Where newlines do not count: only objects and quoted strings inside have rules. */
  private loose(node: Node): void {
    for (const c of node.namedChildren) {
      if (!c) continue;
      if (c.type === "object") this.object(c);
      else if (c.type === "quoted_template" || c.type === "string_lit") this.quoted(c);
      else if (c.type === "heredoc_template") this.heredoc(c);
      else this.loose(c);
    }
  }

  private onOneLine(tokens: Token[], reason: string): void {
    for (let i = 1; i < tokens.length; i++) {
      const before = tokens[i - 1]!.last;
      const after = tokens[i]!.first;
      if (this.newlineBetween(before, after)) {
        const where = `line ${before.endPosition.row + 1} ends before ${JSON.stringify(clip(after.text))}`;
        const why = "HCL ends it at the end of a line, except inside ( ), [ ], ${ } or a for expression";
        this.reportAt(before.endIndex, before.endPosition.row + 1, `${reason} (${where}): ${why}`);
        return;
      }
    }
  }

  /** Whether hclsyntax sees a newline between two tokens: the text between holds only space and comments. */
  private newlineBetween(a: Node, b: Node): boolean {
    const gap = this.text.slice(a.endIndex, b.startIndex);
    for (let i = 0; i < gap.length; i++) {
      const c = gap[i];
      if (c === "\n" || c === "#" || (c === "/" && gap[i + 1] === "/")) return true;
      if (c === "/" && gap[i + 1] === "*") {
        const end = gap.indexOf("*/", i + 2);
        if (end === -1) return false;
        i = end + 1;
      }
    }
    return false;
  }

  private report(node: Node, reason: string): void {
    this.reportAt(node.startIndex, node.startPosition.row + 1, reason);
  }

  private reportAt(index: number, line: number, reason: string): void {
    if (this.first === null || index < this.first.index) this.first = { index, line, reason };
  }
}

/** What hclsyntax reads as one token, or a bracketed part read as one, from its first to its last token. */
interface Token {
  first: Node;
  last: Node;
}

function token(node: Node): Token {
  return { first: node, last: node };
}

/** The children that are not comments. */
function significant(node: Node): Node[] {
  return node.children.filter((c): c is Node => c !== null && c.type !== "comment");
}

function describe(node: Node): string {
  if (node.type === "attribute") return `attribute ${JSON.stringify(child(node, "identifier")?.text ?? "")}`;
  if (node.type === "block") {
    const name = node.children
      .filter((c) => c?.type === "identifier" || c?.type === "string_lit")
      .map((c) => c!.text)
      .join(" ");
    return `block ${JSON.stringify(name)}`;
  }
  return JSON.stringify(clip(node.text));
}

function ending(element: Node): string {
  return element.type === "block"
    ? `a block must end with a line break after its "}"`
    : "an attribute must end with a line break";
}

function elementName(elem: Node): string {
  return JSON.stringify(clip(elem.namedChildren[0]?.text ?? ""));
}

function clip(text: string): string {
  const line = text.split(/\r?\n/, 1)[0]!;
  return line.length > 40 ? `${line.slice(0, 40)}…` : line;
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

// Finds the container images of a Nomad job file: the direct `image` attribute of a `config` block
// under a `task`, `sidecar_task` or `dynamic "task"`. Values are followed through variable defaults
// and locals of the same file; whatever cannot be followed statically is reported, never guessed.
import type { Node } from "web-tree-sitter";
import { hcl2Object, parseTree, treeProblem } from "./parse.js";
import { type ImageRef, formatImageRef, parseImageRef } from "../image/reference.js";

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
  via: "literal" | "variable" | "local" | "expression";
}

export type JobFileScan =
  { ok: true; images: ImageSite[] } | { ok: false; error: string; line: number | null; images: [] };

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
  /** the range is a whole heredoc, replaced by a quoted string */
  quote: boolean;
}

/** An image site plus what pinImages needs to edit it. */
export interface SiteDetail extends ImageSite {
  edit: EditPoint | null;
}

export type Analysis =
  { ok: true; sites: SiteDetail[]; semantic: unknown } | { ok: false; error: string; line: number | null };

/**
 * Validates and scans. `strict` (the default) also asks hcl2-parser, whose verdict wins where
 * tree-sitter is more lenient; without it only tree-sitter runs (several times faster).
 */
export async function analyseJobFile(text: string, options: { strict?: boolean } = {}): Promise<Analysis> {
  const tree = await parseTree(text);
  try {
    const problem = treeProblem(tree);
    if (problem) return { ok: false, error: `not valid HCL2: ${problem.reason}`, line: problem.line };
    let semantic: unknown = null;
    if (options.strict !== false) {
      const checked = hcl2Object(text);
      if (!checked.ok) {
        const known = knownStrictError(tree.rootNode);
        const why =
          known?.reason ?? "rejected by HashiCorp's HCL parser (hcl2-parser), which does not say where";
        return { ok: false, error: `not valid HCL2: ${why}`, line: known?.line ?? null };
      }
      semantic = checked.value;
    }
    return { ok: true, sites: new Scanner(text, tree.rootNode).scan(), semantic };
  } finally {
    tree.delete();
  }
}

export async function findImages(text: string): Promise<JobFileScan> {
  const analysis = await analyseJobFile(text);
  if (!analysis.ok) return { ok: false, error: analysis.error, line: analysis.line, images: [] };
  return { ok: true, images: analysis.sites.map(publicSite) };
}

export function publicSite(site: SiteDetail): ImageSite {
  const { edit: _edit, ...rest } = site;
  return rest;
}

/**
 * hcl2-parser gives no position or message. Two rules tree-sitter does not enforce are common enough
 * to locate ourselves: a one-line block holds at most one attribute and no block, and an attribute may
 * not be set twice in one body.
 */
function knownStrictError(root: Node): { reason: string; line: number } | null {
  let found: { reason: string; line: number } | null = null;
  const visit = (node: Node) => {
    if (found !== null) return;
    if (node.type === "block") {
      const start = child(node, "block_start");
      const end = child(node, "block_end");
      const body = child(node, "body");
      if (start && end && body && start.startPosition.row === end.startPosition.row) {
        if (body.namedChildren.some((c) => c?.type === "block") || body.namedChildren.length > 1) {
          found = {
            reason: "a one-line block may hold only a single attribute",
            line: start.startPosition.row + 1,
          };
          return;
        }
      }
    }
    if (node.type === "body") {
      const seen = new Set<string>();
      for (const attr of children(node, "attribute")) {
        const name = child(attr, "identifier")?.text ?? "";
        if (seen.has(name)) {
          found = {
            reason: `attribute ${JSON.stringify(name)} is set twice`,
            line: attr.startPosition.row + 1,
          };
          return;
        }
        seen.add(name);
      }
    }
    for (const c of node.namedChildren) if (c) visit(c);
  };
  visit(root);
  return found;
}

// ---------------------------------------------------------------------------------------------------

function child(node: Node, type: string): Node | null {
  for (const c of node.children) if (c?.type === type) return c;
  return null;
}

function children(node: Node, type: string): Node[] {
  return node.children.filter((c): c is Node => c?.type === type);
}

/** Decodes the content of a quoted HCL template literal (no interpolations in it). */
export function decodeQuoted(raw: string): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\" && i + 1 < raw.length) {
      const n = raw[i + 1]!;
      const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };
      if (n in simple) {
        out += simple[n];
        i += 1;
        continue;
      }
      if ((n === "u" || n === "U") && /^[0-9a-fA-F]+$/.test(raw.slice(i + 2, i + (n === "u" ? 6 : 10)))) {
        const len = n === "u" ? 4 : 8;
        out += String.fromCodePoint(parseInt(raw.slice(i + 2, i + 2 + len), 16));
        i += 1 + len;
        continue;
      }
    }
    if ((c === "$" || c === "%") && raw[i + 1] === c && raw[i + 2] === "{") {
      out += `${c}{`;
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

/** Encodes a value as the content of a quoted HCL string (the inverse of decodeQuoted). */
export function encodeQuoted(value: string): string {
  // Functions, not replacement strings: in a replacement string "$$" means a single "$".
  const escapes: Record<string, string> = { "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  return value.replace(/[\\"\n\r\t]|\$\{|%\{/g, (m) => escapes[m] ?? `${m[0]}${m}`);
}

interface Piece {
  text: string;
  edit: { start: number; end: number; quote?: true } | null;
  /** variables/locals (as traversal paths) followed to reach this piece, outermost first */
  chain: string[][];
  /** read from a heredoc */
  heredoc?: true;
}

type Resolution = { ok: true; pieces: Piece[]; names: string[] } | { ok: false; reason: string };

const fail = (reason: string): Resolution => ({ ok: false, reason });

interface Context {
  job: string | null;
  group: string | null;
  task: string | null;
  driver: string | null;
  inTask: boolean;
  service: string | null;
}

class Scanner {
  private readonly variables = new Map<string, Node | null>();
  private readonly locals = new Map<string, Node>();
  /** every static `var.…` / `local.…` traversal in the file */
  private readonly uses: string[][] = [];
  private readonly sites: SiteDetail[] = [];

  constructor(
    private readonly text: string,
    private readonly root: Node,
  ) {}

  scan(): SiteDetail[] {
    const body = child(this.root, "body");
    if (!body) return [];
    for (const block of children(body, "block")) {
      const type = blockType(block);
      const inner = child(block, "body");
      if (type === "variable") {
        const [name] = this.labels(block);
        if (name !== undefined) this.variables.set(name, inner ? attribute(inner, "default") : null);
      } else if (type === "locals" && inner) {
        for (const attr of children(inner, "attribute")) {
          const expr = child(attr, "expression");
          const name = child(attr, "identifier")?.text;
          if (expr && name) this.locals.set(name, expr);
        }
      }
    }
    this.countUses(this.root);
    this.walk(body, { job: null, group: null, task: null, driver: null, inTask: false, service: null });
    return this.sites;
  }

  /** Collects every `var.x…` / `local.x…` reference anywhere in the file. */
  private countUses(node: Node) {
    // One query for the roots instead of walking every node: far fewer wasm round trips.
    for (const root of node.descendantsOfType("variable_expr")) {
      if (!root || (root.text !== "var" && root.text !== "local")) continue;
      const expr = root.parent;
      const path =
        expr?.type === "expression" && expr.firstNamedChild?.equals(root) ? traversalPath(expr) : null;
      if (path) this.uses.push(path);
    }
  }

  /** References that read `path` or overlap it (`var.images` overlaps `var.images.app`). */
  private usesOf(path: string[]): number {
    const prefix = (a: string[], b: string[]) => a.length <= b.length && a.every((k, i) => k === b[i]);
    return this.uses.filter((q) => prefix(q, path) || prefix(path, q)).length;
  }

  private labels(block: Node): string[] {
    return block.namedChildren
      .filter((c): c is Node => c !== null && (c.type === "string_lit" || c.type === "identifier"))
      .slice(1)
      .map((c) => (c.type === "identifier" ? c.text : decodeQuoted(c.text.slice(1, -1))));
  }

  private walk(body: Node, ctx: Context) {
    for (const block of children(body, "block")) {
      const type = blockType(block);
      const labels = this.labels(block);
      const inner = child(block, "body");
      const next: Context = { ...ctx };
      if (type === "job") next.job = labels[0] ?? null;
      else if (type === "group") next.group = labels[0] ?? null;
      else if (type === "service") next.service = inner ? this.literal(attribute(inner, "name")) : null;
      else if (type === "task") {
        Object.assign(next, { inTask: true, task: labels[0] ?? null, driver: this.driver(inner) });
      } else if (type === "sidecar_task") {
        const name = inner ? this.literal(attribute(inner, "name")) : null;
        const fallback = ctx.service === null ? null : `connect-proxy-${ctx.service}`;
        Object.assign(next, { inTask: true, task: name ?? fallback, driver: this.driver(inner) ?? "docker" });
      } else if (type === "dynamic" && labels[0] === "task") {
        Object.assign(next, { inTask: true, task: null, driver: null });
      } else if (type === "content" && ctx.inTask && ctx.task === null && ctx.driver === null) {
        next.driver = this.driver(inner);
      }
      if (type === "config" && ctx.inTask && inner) {
        const image = children(inner, "attribute").find((a) => child(a, "identifier")?.text === "image");
        if (image) this.sites.push(this.site(image, ctx));
      }
      if (inner) this.walk(inner, next);
    }
  }

  private driver(body: Node | null): string | null {
    return body ? this.literal(attribute(body, "driver")) : null;
  }

  /** The value of a plain string literal expression, else null. */
  private literal(expr: Node | null): string | null {
    if (!expr) return null;
    const lit = child(expr, "literal_value");
    const str = lit && child(lit, "string_lit");
    return str ? decodeQuoted(str.text.slice(1, -1)) : null;
  }

  private site(attr: Node, ctx: Context): SiteDetail {
    const base = { job: ctx.job, group: ctx.group, task: ctx.task, driver: ctx.driver };
    const line = attr.startPosition.row + 1;
    const expr = child(attr, "expression");
    const resolved = expr ? this.resolve(expr, [], 0) : fail("no value");
    if (!resolved.ok) {
      return {
        ...base,
        line,
        reference: null,
        ref: null,
        managed: false,
        reason: resolved.reason,
        via: "expression",
        edit: null,
      };
    }
    const value = resolved.pieces.map((p) => p.text).join("");
    const first = resolved.names[0];
    const via: ImageSite["via"] =
      first === undefined ? "literal" : first.startsWith("var.") ? "variable" : "local";
    // A one-line heredoc holds the reference plus a newline; it is pinned as a quoted string (the
    // newline could only break the reference).
    const single = resolved.pieces.length === 1 ? resolved.pieces[0]! : null;
    const ref = parseImageRef(single?.heredoc && single.edit ? value.replace(/\n$/, "") : value);
    const unmanaged = (reason: string): SiteDetail => ({
      ...base,
      line,
      reference: value,
      ref,
      managed: false,
      reason,
      via,
      edit: null,
    });
    if (!ref) {
      return unmanaged(
        value.includes("[[")
          ? "a Nomad Pack template, not an image reference"
          : "not a valid image reference",
      );
    }
    const last = resolved.pieces[resolved.pieces.length - 1];
    if (!last?.edit) return unmanaged("its value does not end in a string literal that can be edited");
    for (const path of last.chain) {
      const uses = this.usesOf(path);
      if (uses !== 1) {
        const what = `${path.join(".")} is shared (${uses} references to it or to what holds it in this file)`;
        return unmanaged(`${what}; shared values are not edited`);
      }
    }
    const prefix = last.heredoc ? "" : value.slice(0, value.length - last.text.length);
    // The tag and digest must live in the editable literal, or a pin could not be written there.
    const probe = formatImageRef({ ...ref, digest: `sha256:${"0".repeat(64)}` });
    if (!probe.startsWith(prefix)) {
      return unmanaged("the tag/digest part is split across several expressions");
    }
    const edit: EditPoint = {
      start: last.edit.start,
      end: last.edit.end,
      text: last.text,
      prefix,
      quote: !!last.edit.quote,
    };
    return { ...base, line, reference: value, ref, managed: true, via, edit };
  }

  /** Follows an expression to the string literals it is made of. */
  private resolve(node: Node, chain: string[][], depth: number): Resolution {
    if (depth > 16) return fail("variables or locals refer to each other in a cycle");
    switch (node.type) {
      case "expression": {
        const path = traversalPath(node);
        if (path) return this.follow(path, chain, depth);
        const parts = node.namedChildren.filter((c): c is Node => c !== null && c.type !== "comment");
        if (parts.length === 1) return this.resolve(parts[0]!, chain, depth);
        if (parts[0]?.type === "variable_expr")
          return fail(`uses ${node.text.slice(0, 60)}, which is not a string literal`);
        return fail(`a ${parts[0]?.type ?? "complex"} expression`);
      }
      case "literal_value": {
        const str = child(node, "string_lit");
        if (!str) return fail("not a string");
        return {
          ok: true,
          pieces: [
            {
              text: decodeQuoted(str.text.slice(1, -1)),
              edit: { start: str.startIndex + 1, end: str.endIndex - 1 },
              chain,
            },
          ],
          names: [],
        };
      }
      case "template_expr": {
        const quoted = child(node, "quoted_template");
        if (!quoted) return this.heredoc(node, chain);
        const pieces: Piece[] = [];
        const names: string[] = [];
        for (const part of quoted.namedChildren) {
          if (!part || part.type === "quoted_template_start" || part.type === "quoted_template_end") continue;
          if (part.type === "template_literal") {
            pieces.push({
              text: decodeQuoted(part.text),
              edit: { start: part.startIndex, end: part.endIndex },
              chain,
            });
          } else if (part.type === "template_interpolation") {
            if (child(part, "strip_marker")) return fail("a template with strip markers");
            const inner = child(part, "expression");
            if (!inner) return fail("an empty interpolation");
            const sub = this.resolve(inner, chain, depth + 1);
            if (!sub.ok) return sub;
            pieces.push(...sub.pieces);
            names.push(...sub.names);
          } else {
            return fail("a template with directives (%{ ... })");
          }
        }
        return { ok: true, pieces, names };
      }
      case "variable_expr": {
        const name = node.text;
        if (name.startsWith("NOMAD_") || /^[A-Z_][A-Z0-9_]*$/.test(name)) {
          return fail(`\${${name}} is interpolated by Nomad at runtime`);
        }
        return fail(`refers to ${name}, which is not a variable or local of this file`);
      }
      case "function_call": {
        const fn = child(node, "identifier")?.text ?? "a function";
        return fail(`calls ${fn}(), which is not evaluated`);
      }
      case "conditional":
        return fail("a conditional expression");
      default:
        return fail(`a ${node.type.replace(/_/g, " ")} expression`);
    }
  }

  private follow(path: string[], chain: string[][], depth: number): Resolution {
    const [root, key] = path as [string, string];
    const name = path.join(".");
    let expr: Node | null | undefined;
    if (root === "var") {
      if (!this.variables.has(key)) return fail(`var.${key} is not declared in this file`);
      expr = this.variables.get(key);
      if (!expr) return fail(`var.${key} has no default in this file`);
    } else {
      expr = this.locals.get(key);
      if (!expr) return fail(`local.${key} is not defined in this file`);
    }
    for (const step of path.slice(2)) {
      expr = member(expr, step);
      if (!expr) return fail(`${name} is not a value written in this file`);
    }
    const sub = this.resolve(expr, [...chain, path], depth + 1);
    if (!sub.ok) return sub;
    return { ok: true, pieces: sub.pieces, names: [name, ...sub.names] };
  }

  /** A heredoc's value; only a one-line heredoc without interpolation can be edited (replaced whole). */
  private heredoc(node: Node, chain: string[][]): Resolution {
    const doc = child(node, "heredoc_template");
    if (!doc) return fail("an unsupported template");
    if (
      doc.namedChildren.some((c) => c?.type === "template_interpolation" || c?.type === "template_directive")
    ) {
      return fail("a heredoc with interpolations");
    }
    const marks = children(doc, "heredoc_identifier");
    if (marks.length < 2) return fail("an unterminated heredoc");
    const bodyStart = this.text.indexOf("\n", marks[0]!.endIndex) + 1;
    const bodyEnd = this.text.lastIndexOf("\n", marks[marks.length - 1]!.startIndex - 1) + 1;
    let lines = this.text.slice(bodyStart, Math.max(bodyStart, bodyEnd)).split("\n");
    if (child(doc, "heredoc_start")?.text === "<<-") {
      // Indented heredoc: the smallest indentation of the non-blank lines is removed from all.
      const indents = lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length);
      const cut = indents.length > 0 ? Math.min(...indents) : 0;
      lines = lines.map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length)));
    }
    const text = lines.join("\n").replace(/([$%])\1\{/g, "$1{");
    const edit = /^[^\n]*\n$/.test(text)
      ? { start: node.startIndex, end: node.endIndex, quote: true as const }
      : null;
    return { ok: true, pieces: [{ text, edit, chain, heredoc: true }], names: [] };
  }
}

function blockType(block: Node): string {
  return block.namedChildren[0]?.text ?? "";
}

function attribute(body: Node, name: string): Node | null {
  for (const attr of children(body, "attribute")) {
    if (child(attr, "identifier")?.text === name) return child(attr, "expression");
  }
  return null;
}

/** ["var", "images", "app"] for `var.images.app` or `var.images["app"]`; null unless a static traversal. */
function traversalPath(expr: Node): string[] | null {
  const parts = expr.namedChildren.filter((c): c is Node => c !== null && c.type !== "comment");
  if (parts.length < 2 || parts[0]!.type !== "variable_expr") return null;
  const root = parts[0]!.text;
  if (root !== "var" && root !== "local") return null;
  const path = [root];
  for (const step of parts.slice(1)) {
    let key: string | null = null;
    if (step.type === "get_attr") key = child(step, "identifier")?.text ?? null;
    else if (step.type === "index") {
      const inner = step.namedChildren[0];
      const expr = inner?.type === "new_index" ? child(inner, "expression") : null;
      key = expr ? staticKey(expr) : inner?.type === "legacy_index" ? inner.text.replace(/^\./, "") : null;
    }
    if (key === null) return null;
    path.push(key);
  }
  return path;
}

/** An object key or index written as a bare name, a plain string or a number. */
function staticKey(expr: Node): string | null {
  const parts = expr.namedChildren.filter((c): c is Node => c !== null);
  if (parts.length !== 1) return null;
  const only = parts[0]!;
  if (only.type === "variable_expr") return only.text;
  if (only.type !== "literal_value") return null;
  const str = child(only, "string_lit");
  if (str)
    return str.namedChildren.some((c) => c?.type === "template_interpolation")
      ? null
      : decodeQuoted(str.text.slice(1, -1));
  const num = child(only, "numeric_lit");
  return num && /^\d+$/.test(num.text) ? num.text : null;
}

/** The expression of one attribute of an object literal, or one element of a tuple literal. */
function member(expr: Node, key: string): Node | null {
  const collection = child(expr, "collection_value");
  const object = collection && child(collection, "object");
  if (object) {
    for (const elem of children(object, "object_elem")) {
      const [k, v] = elem.namedChildren.filter((c): c is Node => c?.type === "expression");
      if (k && v && staticKey(k) === key) return v;
    }
    return null;
  }
  const tuple = collection && child(collection, "tuple");
  if (tuple && /^\d+$/.test(key)) return children(tuple, "expression")[Number(key)] ?? null;
  return null;
}

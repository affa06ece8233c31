// Walks one job file's syntax tree: finds every task's `config { image = ... }`, follows the value
// through variable defaults (`variable "x" {}` and `variables { x = ... }`), values from var files and
// locals to the string literals it is made of, and decides which literal a pin would edit. Values
// that other parts of the file also read are only edited when every reader is an image site of the
// same repository (they then move together).
import type { Node } from "web-tree-sitter";
import { formatImageRef, parseImageRef } from "../image/reference.js";
import { attribute, blockType, child, children, decodeQuoted, member, traversalPath } from "./hcl.js";
import { type Unmanaged, unmanaged } from "./reasons.js";
import type { EditPoint, ImageSite, SiteDetail, ValueRead } from "./jobfile.js";
import { lineOfIndex, lineStarts } from "./lines.js";
import { type Found, type Link, settle } from "./settle.js";
import { Syntax } from "./syntax.js";

/** A variable's value from a var file: its expression lives in another tree. */
export interface ExternalValue {
  file: string;
  expr: Node;
}

/** A node of the job file (read through Syntax), or of a var file's tree. */
type AnyNode = Syntax | Node;

interface Piece {
  text: string;
  edit: { start: number; end: number; heredoc?: true; file: string | null } | null;
  /** variables/locals followed to reach this piece, outermost first */
  chain: Link[];
}

type Resolution = { ok: true; pieces: Piece[]; names: string[] } | ({ ok: false } & Unmanaged);

const fail = (kind: Unmanaged["kind"], reason: string): Resolution => ({ ok: false, kind, reason });

interface Context {
  job: string | null;
  group: string | null;
  task: string | null;
  driver: string | null;
  inTask: boolean;
  service: string | null;
}

/** What one collect found, before the sites are decided (see Scanner.adopt). */
export interface Collected {
  readonly found: readonly Found[];
  readonly uses: readonly Link[];
  readonly images: ReadonlyArray<{ start: number; end: number; line: number }>;
}

export class Scanner {
  private readonly variables = new Map<string, Syntax | null>();
  private readonly locals = new Map<string, Syntax>();
  /** every static `var.…` / `local.…` traversal in the file */
  private readonly uses: Link[] = [];
  private readonly found: Found[] = [];
  /** the source range of every image attribute */
  private readonly images: Array<{ start: number; end: number; line: number }> = [];

  constructor(
    private readonly text: string,
    /** values from var files (the last file that sets a variable wins, as with -var-file) */
    private readonly external: ReadonlyMap<string, ExternalValue> = new Map(),
  ) {}

  /** The image sites of a file parsed as one tree (its root, or a Syntax of it shared with others). */
  scan(root: Node | Syntax): SiteDetail[] {
    const syntax = this.syntax(root);
    this.define(syntax);
    this.collect(syntax);
    return this.finish();
  }

  private syntax(root: Node | Syntax): Syntax {
    return root instanceof Syntax ? root : Syntax.of(root, this.text);
  }

  /**
   * Reads the variables and locals a tree declares. A file parsed in pieces gives the piece with its
   * definitions first, and keeps that tree until finish(): sites elsewhere resolve into it.
   */
  define(root: Node | Syntax) {
    const body = child(this.syntax(root), "body");
    if (!body) return;
    for (const block of children(body, "block")) {
      const type = blockType(block);
      const inner = child(block, "body");
      if (type === "variable") {
        const [name] = this.labels(block);
        if (name !== undefined) this.variables.set(name, inner ? attribute(inner, "default") : null);
      } else if ((type === "locals" || type === "variables") && inner) {
        // `variables { name = default }` is the shorthand of one `variable` block per attribute.
        const into = type === "locals" ? this.locals : this.variables;
        for (const attr of children(inner, "attribute")) {
          const expr = child(attr, "expression");
          const name = child(attr, "identifier")?.text;
          if (expr && name) into.set(name, expr);
        }
      }
    }
  }

  /**
   * Finds the image sites and `var.`/`local.` references of a tree (the whole file, or a piece of it).
   * Returns what it found, undecided: another scan of an edited text may adopt it for an unedited piece.
   */
  collect(root: Node | Syntax): Collected {
    const from = { found: this.found.length, uses: this.uses.length, images: this.images.length };
    const syntax = this.syntax(root);
    this.countUses(syntax);
    const body = child(syntax, "body");
    if (body)
      this.walk(body, { job: null, group: null, task: null, driver: null, inTask: false, service: null });
    return {
      found: this.found.slice(from.found),
      uses: this.uses.slice(from.uses),
      images: this.images.slice(from.images),
    };
  }

  /**
   * Takes what a scan of the same piece of another text collected, as if collected here: the piece's
   * text is the same, only moved (`at` maps a position there to here), and the variables and locals
   * its values were followed through are unchanged. Call in the order collect would have been.
   */
  adopt(part: Collected, at: (index: number) => number) {
    for (const u of part.uses) this.uses.push({ path: u.path, at: at(u.at) });
    for (const i of part.images) this.images.push({ start: at(i.start), end: at(i.end), line: i.line });
    for (const f of part.found) {
      const links = f.links.map((l) => ({ path: l.path, at: at(l.at) }));
      // Positions in this file move; those in a var file (`file:start` keys, edits there) do not.
      const { literal: _literal, ...site } = f.site;
      const edit =
        site.edit && site.edit.file === null
          ? { ...site.edit, start: at(site.edit.start), end: at(site.edit.end) }
          : site.edit;
      const key = f.key?.startsWith(":") ? `:${at(Number(f.key.slice(1)))}` : f.key;
      this.found.push({ ...f, site: { ...site, edit }, links, readers: f.readers.map(at), key });
    }
  }

  /** Every site found, decided (call after define and collect have seen the whole file). */
  finish(): SiteDetail[] {
    return settle(this.found, this.uses);
  }

  /**
   * Every read of a var file's value anywhere in this file (call after scan): other files may pin a
   * literal there, so the caller checks that no read but an image site pinned with it sees the change.
   */
  externalReads(): ValueRead[] {
    const out: ValueRead[] = [];
    let starts: number[] | null = null;
    for (const use of this.uses) {
      const [root, key] = use.path as [string, string];
      const value = root === "var" ? this.external.get(key) : undefined;
      if (!value) continue;
      let expr: Node | null = value.expr;
      for (const step of use.path.slice(2)) {
        const next: Node | null = expr && member(expr, step);
        if (!next) break;
        expr = next;
      }
      const range = expr ?? value.expr;
      const site =
        this.images.find((i) => use.at >= i.start && use.at < i.end)?.line ??
        this.found.find((f) => f.readers.includes(use.at))?.site.line;
      out.push({
        file: value.file,
        start: range.startIndex,
        end: range.endIndex,
        line: lineOfIndex((starts ??= lineStarts(this.text)), use.at),
        ...(site === undefined ? {} : { site }),
      });
    }
    return out;
  }

  /** Collects every `var.x…` / `local.x…` reference anywhere in the file. */
  private countUses(node: Syntax) {
    // A reference's root is a slice of the text: without "var" or "local" in it there is none to find
    // (the query walks the whole tree in WASM, a good part of a small file's scan).
    if (!this.text.includes("var") && !this.text.includes("local")) return;
    // One query for the roots instead of walking every node: far fewer wasm round trips.
    for (const root of node.descendantsOfType("variable_expr")) {
      if (!root || (root.text !== "var" && root.text !== "local")) continue;
      const expr = root.parent;
      const path =
        expr?.type === "expression" && expr.firstNamedChild?.equals(root) ? traversalPath(expr) : null;
      if (path) this.uses.push({ path, at: expr!.startIndex });
    }
  }

  private labels(block: Syntax): string[] {
    return block.namedChildren
      .filter((c) => c.type === "string_lit" || c.type === "identifier")
      .slice(1)
      .map((c) => (c.type === "identifier" ? c.text : decodeQuoted(c.text.slice(1, -1))));
  }

  private walk(body: Syntax, ctx: Context) {
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
        if (image) {
          this.images.push({
            start: image.startIndex,
            end: image.endIndex,
            line: image.startPosition.row + 1,
          });
          this.found.push(this.site(image, ctx));
        }
      }
      if (inner) this.walk(inner, next);
    }
  }

  private driver(body: Syntax | null): string | null {
    return body ? this.literal(attribute(body, "driver")) : null;
  }

  /** The value of a plain string literal expression, else null. */
  private literal(expr: Syntax | null): string | null {
    if (!expr) return null;
    const lit = child(expr, "literal_value");
    const str = lit && child(lit, "string_lit");
    return str ? decodeQuoted(str.text.slice(1, -1)) : null;
  }

  private site(attr: Syntax, ctx: Context): Found {
    const base = { job: ctx.job, group: ctx.group, task: ctx.task, driver: ctx.driver };
    const line = attr.startPosition.row + 1;
    const expr = child(attr, "expression");
    const resolved = expr ? this.resolve(expr, [], 0) : fail("expression", "no value");
    if (!resolved.ok) {
      const { kind, reason } = resolved;
      const site: SiteDetail = {
        ...base,
        line,
        reference: null,
        ref: null,
        managed: false,
        reason,
        kind,
        via: "expression",
        edit: null,
      };
      return { site, links: [], readers: [], key: null, refusal: null };
    }
    const value = resolved.pieces.map((p) => p.text).join("");
    const first = resolved.names[0];
    const via: ImageSite["via"] =
      first === undefined ? "literal" : first.startsWith("var.") ? "variable" : "local";
    // A one-line heredoc is read as its line without the newline (see heredoc()).
    const shown = value;
    const ref = parseImageRef(shown);
    const last = resolved.pieces[resolved.pieces.length - 1];
    const links = last?.chain ?? [];
    const readers = resolved.pieces.flatMap((p) => p.chain.map((l) => l.at));
    const key = last?.edit ? `${last.edit.file ?? ""}:${last.edit.start}` : null;
    const refused = (why: Unmanaged): Found => ({
      site: { ...base, line, reference: shown, ref, managed: false, ...why, via, edit: null },
      links,
      readers,
      key,
      refusal: why,
    });
    if (!ref) {
      return value.includes("[[")
        ? refused(unmanaged("pack-template", "a Nomad Pack template, not an image reference"))
        : refused(unmanaged("not-a-reference", "not a valid image reference"));
    }
    if (!last?.edit) {
      return refused(
        unmanaged("expression", "its value does not end in a string literal that can be edited"),
      );
    }
    const prefix = value.slice(0, value.length - last.text.length);
    // The tag and digest must live in the editable literal, or a pin could not be written there.
    const probe = formatImageRef({ ...ref, digest: `sha256:${"0".repeat(64)}` });
    if (!probe.startsWith(prefix)) {
      return refused(unmanaged("split", "the tag/digest part is split across several expressions"));
    }
    const edit: EditPoint = {
      start: last.edit.start,
      end: last.edit.end,
      text: last.text,
      prefix,
      quote: false,
      ...(last.edit.heredoc ? { heredoc: true } : {}),
      file: last.edit.file,
    };
    const site: SiteDetail = { ...base, line, reference: shown, ref, managed: true, via, edit };
    return { site, links, readers, key, refusal: null };
  }

  /** Follows an expression to the string literals it is made of. */
  private resolve(node: AnyNode, chain: Link[], depth: number, file: string | null = null): Resolution {
    if (depth > 16) return fail("expression", "variables or locals refer to each other in a cycle");
    switch (node.type) {
      case "expression": {
        const path = file === null ? traversalPath(node) : null;
        if (path) return this.follow(path, node.startIndex, chain, depth);
        const parts = node.namedChildren.filter((c): c is AnyNode => c !== null && c.type !== "comment");
        if (parts.length === 1) return this.resolve(parts[0]!, chain, depth, file);
        if (parts[0]?.type === "variable_expr")
          return fail("expression", `uses ${node.text.slice(0, 60)}, which is not a string literal`);
        return fail("expression", `a ${parts[0]?.type ?? "complex"} expression`);
      }
      case "literal_value": {
        const str = child(node, "string_lit");
        if (!str) return fail("not-a-reference", "not a string");
        const edit = { start: str.startIndex + 1, end: str.endIndex - 1, file };
        return { ok: true, pieces: [{ text: decodeQuoted(str.text.slice(1, -1)), edit, chain }], names: [] };
      }
      case "template_expr": {
        const quoted = child(node, "quoted_template");
        if (!quoted)
          return file === null ? this.heredoc(node, chain) : fail("expression", "a heredoc in a var file");
        const pieces: Piece[] = [];
        const names: string[] = [];
        for (const part of quoted.namedChildren) {
          if (!part || part.type === "quoted_template_start" || part.type === "quoted_template_end") continue;
          if (part.type === "template_literal") {
            const edit = { start: part.startIndex, end: part.endIndex, file };
            pieces.push({ text: decodeQuoted(part.text), edit, chain });
          } else if (part.type === "template_interpolation") {
            if (child(part, "strip_marker")) return fail("expression", "a template with strip markers");
            const inner = child(part, "expression");
            if (!inner) return fail("expression", "an empty interpolation");
            const sub = this.resolve(inner, chain, depth + 1, file);
            if (!sub.ok) return sub;
            pieces.push(...sub.pieces);
            names.push(...sub.names);
          } else {
            return fail("expression", "a template with directives (%{ ... })");
          }
        }
        return { ok: true, pieces, names };
      }
      case "variable_expr": {
        const name = node.text;
        if (name.startsWith("NOMAD_") || /^[A-Z_][A-Z0-9_]*$/.test(name)) {
          return fail("runtime", `\${${name}} is interpolated by Nomad at runtime`);
        }
        return fail("undeclared", `refers to ${name}, which is not a variable or local of this file`);
      }
      case "function_call": {
        const fn = child(node, "identifier")?.text ?? "a function";
        return fail("expression", `calls ${fn}(), which is not evaluated`);
      }
      case "conditional":
        return fail("expression", "a conditional expression");
      default:
        return fail("expression", `a ${node.type.replace(/_/g, " ")} expression`);
    }
  }

  private follow(path: string[], at: number, chain: Link[], depth: number): Resolution {
    const [root, key] = path as [string, string];
    const name = path.join(".");
    let expr: AnyNode | null | undefined;
    let file: string | null = null;
    if (root === "var") {
      if (!this.variables.has(key)) return fail("undeclared", `var.${key} is not declared in this file`);
      const outside = this.external.get(key);
      expr = outside?.expr ?? this.variables.get(key);
      file = outside?.file ?? null;
      if (!expr) return fail("no-default", `var.${key} has no default in this file and no var file sets it`);
    } else {
      expr = this.locals.get(key);
      if (!expr) return fail("undeclared", `local.${key} is not defined in this file`);
    }
    for (const step of path.slice(2)) {
      expr = member(expr, step);
      if (!expr) {
        const where = file === null ? "this file" : file;
        return fail("expression", `${name} is not a value written in ${where}`);
      }
    }
    const sub = this.resolve(expr, [...chain, { path, at }], depth + 1, file);
    if (!sub.ok) return sub;
    return { ok: true, pieces: sub.pieces, names: [name, ...sub.names] };
  }

  /**
   * A heredoc's value. Only a one-line heredoc without interpolation can be edited: its line (after a
   * `<<-` heredoc's indentation, before the newline) is spliced in place, so the heredoc stays one.
   * Its value is read as that line: the newline could only break the reference.
   */
  private heredoc(node: AnyNode, chain: Link[]): Resolution {
    const doc = child(node, "heredoc_template");
    if (!doc) return fail("expression", "an unsupported template");
    if (
      doc.namedChildren.some((c) => c?.type === "template_interpolation" || c?.type === "template_directive")
    ) {
      return fail("expression", "a heredoc with interpolations");
    }
    const marks = children(doc, "heredoc_identifier");
    if (marks.length < 2) return fail("expression", "an unterminated heredoc");
    const bodyStart = this.text.indexOf("\n", marks[0]!.endIndex) + 1;
    const bodyEnd = this.text.lastIndexOf("\n", marks[marks.length - 1]!.startIndex - 1) + 1;
    const body = this.text.slice(bodyStart, Math.max(bodyStart, bodyEnd));
    const indented = child(doc, "heredoc_start")?.text === "<<-";
    const unescape = (raw: string) => raw.replace(/([$%])\1\{/g, "$1{");
    const one = /^([ \t]*)([^\n]*?)\r?\n$/.exec(body);
    if (one && one[2]!.trim() !== "") {
      // `<<-` removes the smallest indentation of the lines: with one line, all of it.
      const start = bodyStart + (indented ? one[1]!.length : 0);
      const raw = this.text.slice(start, bodyStart + one[1]!.length + one[2]!.length);
      const edit = { start, end: start + raw.length, heredoc: true as const, file: null };
      return { ok: true, pieces: [{ text: unescape(raw), edit, chain }], names: [] };
    }
    let lines = body.split("\n");
    if (indented) {
      const indents = lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length);
      const cut = indents.length > 0 ? Math.min(...indents) : 0;
      lines = lines.map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length)));
    }
    return { ok: true, pieces: [{ text: unescape(lines.join("\n")), edit: null, chain }], names: [] };
  }
}

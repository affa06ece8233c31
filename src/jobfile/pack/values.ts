// The pack's variables as written: each variable's default in variables.hcl, overridden by the values
// files (later wins), kept as syntax nodes so a value can be followed to the string literal that holds
// it, and the strict parser's reading of each file for the check after an edit.
import type { Node, Tree } from "web-tree-sitter";
import { attribute, blockType, child, children, decodeQuoted, member } from "../hcl.js";
import type { ValueRead } from "../jobfile.js";
import { refereeRead, parseTree, treeProblem } from "../parse.js";
import { type PackInput, packSources } from "./input.js";
import type { TemplateRead } from "./template.js";

/** Where a variable's value is written: its file and expression. */
export type PackValues = ReadonlyMap<string, { file: string; expr: Node }>;

export type PackValuesRead =
  { ok: true; values: PackValues; semantics: Map<string, unknown> } | { ok: false; error: string };

/**
 * Parses the pack's variables.hcl and values files. The syntax trees are pushed to `trees`: their
 * nodes stay in use after this returns, so the caller deletes them when done.
 */
export async function readPackValues(
  input: PackInput,
  strict: boolean,
  trees: Tree[],
): Promise<PackValuesRead> {
  const values = new Map<string, { file: string; expr: Node }>();
  const semantics = new Map<string, unknown>();
  for (const [i, file] of packSources(input).entries()) {
    const tree = await parseTree(file.text);
    trees.push(tree);
    const bad = treeProblem(tree);
    const checked = strict && !bad ? await refereeRead(file.text) : null;
    if (bad || (checked && !checked.ok))
      return { ok: false, error: `${file.path} is not valid HCL2: ${bad?.reason ?? "rejected"}` };
    if (checked?.ok) semantics.set(file.path, checked.value);
    const body = child(tree.rootNode, "body");
    if (!body) continue;
    if (i === 0 && input.variables) {
      for (const block of children(body, "block")) {
        if (blockType(block) !== "variable") continue;
        const label = block.namedChildren.find((c) => c?.type === "string_lit");
        const inner = child(block, "body");
        const expr = inner && attribute(inner, "default");
        if (label && expr) values.set(decodeQuoted(label.text.slice(1, -1)), { file: file.path, expr });
      }
    } else {
      for (const attr of children(body, "attribute")) {
        const name = child(attr, "identifier")?.text;
        const expr = child(attr, "expression");
        if (name && expr) values.set(name, { file: file.path, expr });
      }
    }
  }
  return { ok: true, values, semantics };
}

/** The content range and value of a plain string literal (no interpolation). */
export function stringLiteral(expr: Node): { start: number; end: number; text: string } | null {
  const lit = child(expr, "literal_value");
  const str = lit && child(lit, "string_lit");
  if (str)
    return { start: str.startIndex + 1, end: str.endIndex - 1, text: decodeQuoted(str.text.slice(1, -1)) };
  const tpl = child(expr, "template_expr");
  const quoted = tpl && child(tpl, "quoted_template");
  if (!quoted) return null;
  const parts = quoted.namedChildren.filter(
    (c) => c && c.type !== "quoted_template_start" && c.type !== "quoted_template_end",
  );
  if (parts.length !== 1 || parts[0]!.type !== "template_literal") return null;
  return { start: parts[0]!.startIndex, end: parts[0]!.endIndex, text: decodeQuoted(parts[0]!.text) };
}

/** The reads of values written in the pack's variables.hcl or a values file, for the cross-file check. */
export function valueReads(reads: TemplateRead[], values: PackValues): ValueRead[] {
  const out: ValueRead[] = [];
  for (const r of reads) {
    const [name, ...keys] = r.path;
    const found = name === undefined ? null : values.get(name);
    const all = name === undefined ? [...values.values()] : found ? [found] : [];
    for (const v of all) {
      let expr: Node | null = v.expr;
      for (const k of name === undefined ? [] : keys) expr = expr && member(expr, k);
      const range = expr ?? v.expr;
      out.push({
        file: v.file,
        start: range.startIndex,
        end: range.endIndex,
        line: r.line,
        ...(r.site === null ? {} : { site: r.site }),
      });
    }
  }
  return out;
}

// Reading tree-sitter's HCL syntax tree: small accessors, static traversals (`var.x.key`,
// `var.x["key"]`), collection members, and the escapes of quoted strings.
// Generic over the node: web-tree-sitter's Node (pack/) or a Syntax that reads each node once (scanner).
import type { TreeNode } from "./syntax.js";

export function child<N extends TreeNode<N>>(node: N, type: string): N | null {
  for (const c of node.children) if (c?.type === type) return c;
  return null;
}

export function children<N extends TreeNode<N>>(node: N, type: string): N[] {
  return node.children.filter((c): c is N => c?.type === type);
}

/** Decodes the content of a quoted HCL template literal (no interpolations in it). */
export function decodeQuoted(raw: string): string {
  // Most literals (every image reference) hold no escape: nothing to decode, no string built a
  // character at a time.
  if (!raw.includes("\\") && !raw.includes("${") && !raw.includes("%{")) return raw;
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

export function blockType<N extends TreeNode<N>>(block: N): string {
  return block.namedChildren[0]?.text ?? "";
}

export function attribute<N extends TreeNode<N>>(body: N, name: string): N | null {
  for (const attr of children(body, "attribute")) {
    if (child(attr, "identifier")?.text === name) return child(attr, "expression");
  }
  return null;
}

/** ["var", "images", "app"] for `var.images.app` or `var.images["app"]`; null unless a static traversal. */
export function traversalPath<N extends TreeNode<N>>(expr: N): string[] | null {
  const parts = expr.namedChildren.filter((c): c is N => c !== null && c.type !== "comment");
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
export function staticKey<N extends TreeNode<N>>(expr: N): string | null {
  const parts = expr.namedChildren.filter((c): c is N => c !== null);
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
export function member<N extends TreeNode<N>>(expr: N, key: string): N | null {
  const collection = child(expr, "collection_value");
  const object = collection && child(collection, "object");
  if (object) {
    for (const elem of children(object, "object_elem")) {
      const [k, v] = elem.namedChildren.filter((c): c is N => c?.type === "expression");
      if (k && v && staticKey(k) === key) return v;
    }
    return null;
  }
  const tuple = collection && child(collection, "tuple");
  if (tuple && /^\d+$/.test(key)) return children(tuple, "expression")[Number(key)] ?? null;
  return null;
}

// An image value of a template followed to where it is written: a whole `[[ action | quote ]]`, a
// quoted string of text and `[[ action ]]`s, or one `printf`; each action must read one of this pack's
// variables, whose value must be a plain string literal. The tag and digest must land in the last
// literal, which is where a pin is written.
import type { Node } from "web-tree-sitter";
import { formatImageRef, parseImageRef } from "../../image/reference.js";
import { decodeQuoted, member } from "../hcl.js";
import type { EditPoint, SiteDetail } from "../jobfile.js";
import { type Unmanaged, unmanaged } from "../reasons.js";
import { type PackInput, packName } from "./input.js";
import type { RawSite } from "./template.js";
import { type PackValues, stringLiteral } from "./values.js";

/** A site as resolved, with the variables its value reads (for the sharing check). */
export interface PackSite {
  site: SiteDetail;
  paths: string[][];
}

const ACTION =
  /^\[\[-?\s*(?:var\s+"([^"]+)"\s+\.|\.([A-Za-z0-9_]+)\.([A-Za-z0-9_.]+))\s*(\|\s*quote\s*)?-?\]\]$/;

/** One part of an image value: template text, or a pack variable's literal, with where it is written. */
interface Part {
  text: string;
  /** null: text of a printf format, which is not edited */
  edit: { start: number; end: number; file: string } | null;
  /** the variable read, as a path (null: text of the template itself) */
  path: string[] | null;
}

/** `[[ printf "<Go string>" (var "x" .) ]]` or with `.pack.x`: one pack variable through a format. */
const PRINTF =
  /^\[\[-?\s*printf\s+"((?:[^"\\]|\\.)*)"\s+\(?\s*(var\s+"[^"]+"\s+\.|\.[A-Za-z0-9_]+\.[A-Za-z0-9_.]+)\s*\)?\s*-?\]\]$/;

/** The value of a Go interpreted string's content with only \" and \\ escapes; null for any other. */
function goString(raw: string): string | null {
  if (/\\[^"\\]/.test(raw.replace(/\\\\/g, ""))) return null;
  return raw.replace(/\\(["\\])/g, "$1");
}

type PartResult = { ok: true; part: Part } | { ok: false; why: Unmanaged };

/** An `image =` line resolved to its reference and edit point, or to why it is not managed. */
export function resolveSite(raw: RawSite, input: PackInput, values: PackValues): PackSite {
  const base = { job: raw.job, group: raw.group, task: raw.task, driver: raw.driver, line: raw.line };
  const refuse = (why: Unmanaged, reference: string | null = null): PackSite => ({
    site: { ...base, reference, ref: null, managed: false, ...why, via: "expression", edit: null },
    paths: [],
  });
  // A whole `[[ action | quote ]]`, or a quoted string of text and `[[ action ]]`s.
  const segments: Array<{ action: string | null; raw: string; at: number; fixed?: true }> = [];
  const printf = PRINTF.exec(raw.value);
  if (printf) {
    // `[[ printf "\"repo:%s\"" (var "tag" .) ]]`: a Go string renders the quoted value around one %s.
    const format = goString(printf[1]!);
    const m = format === null ? null : /^"((?:[^"\\%]|\\.|%%)*)%s((?:[^"\\%]|\\.|%%)*)"$/.exec(format);
    if (!m) return refuse(unmanaged("pack-template", "a printf format other than one quoted %s"));
    const fixed = (text: string) => text.replace(/%%/g, "%");
    if (m[1] !== "") segments.push({ action: null, raw: fixed(m[1]!), at: 0, fixed: true });
    segments.push({ action: `[[ ${printf[2]!.trim()} ]]`, raw: printf[2]!, at: 0 });
    if (m[2] !== "") segments.push({ action: null, raw: fixed(m[2]!), at: 0, fixed: true });
  } else if (/^\[\[.*\]\]$/.test(raw.value) && !raw.value.slice(2).includes("[[")) {
    if (!/\|\s*quote\s*-?\]\]$/.test(raw.value))
      return refuse(unmanaged("pack-template", "a template action that does not render a quoted string"));
    segments.push({ action: raw.value.replace(/\s*\|\s*quote\s*(-?\]\])$/, " $1"), raw: raw.value, at: 0 });
  } else if (/^"(?:[^"\\]|\\.|\[\[.*?\]\])*"$/.test(raw.value)) {
    const inner = raw.value.slice(1, -1);
    const re = /\[\[.*?\]\]/g;
    let last = 0;
    for (let m = re.exec(inner); m !== null; m = re.exec(inner)) {
      if (m.index > last) segments.push({ action: null, raw: inner.slice(last, m.index), at: 1 + last });
      segments.push({ action: m[0], raw: m[0], at: 1 + m.index });
      last = m.index + m[0].length;
    }
    if (last < inner.length || segments.length === 0)
      segments.push({ action: null, raw: inner.slice(last), at: 1 + last });
  } else {
    return refuse(unmanaged("pack-template", `a template expression (${raw.value.slice(0, 50)})`));
  }
  const parts: Part[] = [];
  for (const seg of segments) {
    if (seg.action === null) {
      if (/[$%]\{/.test(seg.raw.replace(/([$%])\1\{/g, "")))
        return refuse(unmanaged("runtime", `\${...} in the rendered job is interpolated by Nomad`));
      const start = raw.start + seg.at;
      parts.push({
        text: decodeQuoted(seg.raw),
        edit: seg.fixed ? null : { start, end: start + seg.raw.length, file: input.path },
        path: null,
      });
      continue;
    }
    const got = actionPart(seg.action, input, values);
    if (!got.ok) return refuse(got.why);
    parts.push(got.part);
  }
  const value = parts.map((p) => p.text).join("");
  const ref = parseImageRef(value);
  if (!ref) return refuse(unmanaged("not-a-reference", "not a valid image reference"), value);
  const last = parts[parts.length - 1]!;
  const prefix = value.slice(0, value.length - last.text.length);
  // The tag and digest must end up in the last literal, or a pin could not be written there.
  const probe = formatImageRef({ ...ref, digest: `sha256:${"0".repeat(64)}` });
  const paths = parts.flatMap((p) => (p.path ? [p.path] : []));
  const via: SiteDetail["via"] = paths.length > 0 ? "variable" : "literal";
  if (!probe.startsWith(prefix) || last.edit === null) {
    const why = unmanaged(
      "split",
      "the tag/digest part is split across several template actions, and the last one does not hold all of it",
    );
    return { site: { ...base, reference: value, ref, managed: false, ...why, via, edit: null }, paths };
  }
  const edit: EditPoint = { ...last.edit, text: last.text, prefix, quote: false };
  return { site: { ...base, reference: value, ref, managed: true, via, edit }, paths };
}

/** A `[[ var "x" . ]]` / `[[ .pack.x ]]` action followed to the string literal that holds its value. */
function actionPart(action: string, input: PackInput, values: PackValues): PartResult {
  const no = (why: Unmanaged): PartResult => ({ ok: false, why });
  const m = ACTION.exec(action);
  if (!m || m[4] !== undefined)
    return no(
      unmanaged("pack-template", `a template action other than a pack variable (${action.slice(0, 50)})`),
    );
  const path = variablePath(m, input.path);
  if (path === null) return no(unmanaged("pack-template", `reads .${m[2]}, another pack's variables`));
  const [name, ...keys] = path as [string, ...string[]];
  const found = values.get(name);
  if (!found) {
    return no(
      unmanaged(
        input.variables === null ? "pack-template" : "no-default",
        input.variables === null
          ? "the pack's variables.hcl was not read"
          : `variable "${name}" has no default in ${input.variables.path} and no values file sets it`,
      ),
    );
  }
  let expr: Node | null = found.expr;
  for (const k of keys) expr = expr && member(expr, k);
  const lit = expr && stringLiteral(expr);
  if (!lit) return no(unmanaged("expression", `${path.join(".")} is not a string written in ${found.file}`));
  return {
    ok: true,
    part: { text: lit.text, edit: { start: lit.start, end: lit.end, file: found.file }, path },
  };
}

/** The variable path an action reads (`var "a.b" .` → a.b; `.pack.a.b` → a.b), null for another pack's. */
function variablePath(m: RegExpExecArray, templatePath: string): string[] | null {
  if (m[1] !== undefined) return m[1].split(".");
  const pack = packName(templatePath);
  if (pack !== null && m[2] !== pack) return null;
  return m[3]!.split(".");
}

// Nomad Pack templates (`packs/<pack>/templates/*.nomad.tpl`): Go templates that render a job file,
// so they are read line by line, never parsed as HCL. An image written as `[[ var "image" . ]]`
// (nomad-pack v2) or `[[ .my_pack.image ]]` (v1), optionally inside a quoted string after a fixed
// prefix, comes from the pack's variables.hcl default (or a values file): that literal is pinned.
import type { Node, Tree } from "web-tree-sitter";
import { parseImageRef } from "../image/reference.js";
import { attribute, blockType, child, children, decodeQuoted, member } from "./hcl.js";
import type { EditPoint, SiteDetail } from "./jobfile.js";
import { hcl2Object, parseTree, treeProblem } from "./parse.js";
import { type Unmanaged, unmanaged } from "./reasons.js";
import {
  JobFileError,
  type PinEdit,
  type PinOutcome,
  type PinStyle,
  type PinTarget,
  PinVerificationError,
  applySplices,
  planPins,
  validateTarget,
} from "./pin.js";
import { semanticDiff, unchangedOutside } from "./verify.js";

/** Where a template's pack keeps its variables: packs/x/templates/a.nomad.tpl → packs/x/variables.hcl. */
export function packVariablesFile(templatePath: string): string | null {
  const m = /^(.*?)(?:^|\/)templates\/[^/]+\.tpl$/.exec(templatePath);
  if (!m) return null;
  return m[1] === "" ? "variables.hcl" : `${m[1]}/variables.hcl`;
}

/** The pack's name as its directory says it (v1 templates address variables as `.name.var`). */
export function packName(templatePath: string): string | null {
  const m = /(?:^|\/)([^/]+)\/templates\/[^/]+\.tpl$/.exec(templatePath);
  return m ? m[1]! : null;
}

export interface PackInput {
  /** the template's path (for the pack name) and text */
  path: string;
  text: string;
  /** the pack's variables.hcl, and values files that override its defaults (later wins) */
  variables: { path: string; text: string } | null;
  values?: ReadonlyArray<{ path: string; text: string }>;
}

export type PackAnalysis =
  | { ok: true; sites: SiteDetail[]; semantics: Map<string, unknown> }
  | { ok: false; error: string; line: number | null };

interface Frame {
  header: string;
}

/** Every task config `image =` line of a template, with its value resolved through the pack's variables. */
export async function analyzePackTemplate(input: PackInput, strict = true): Promise<PackAnalysis> {
  const trees: Tree[] = [];
  try {
    const values = new Map<string, { file: string; expr: Node }>();
    const semantics = new Map<string, unknown>();
    const sources = [...(input.variables ? [input.variables] : []), ...(input.values ?? [])];
    for (const [i, file] of sources.entries()) {
      const tree = await parseTree(file.text);
      trees.push(tree);
      const bad = treeProblem(tree);
      const checked = strict && !bad ? hcl2Object(file.text) : null;
      if (bad || (checked && !checked.ok)) {
        return {
          ok: false,
          error: `${file.path} is not valid HCL2: ${bad?.reason ?? "rejected"}`,
          line: null,
        };
      }
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
    const sites = templateSites(input.text).map((s) => resolveSite(s, input, values));
    return { ok: true, sites, semantics };
  } finally {
    for (const t of trees) t.delete();
  }
}

interface RawSite {
  line: number;
  job: string | null;
  group: string | null;
  task: string | null;
  driver: string | null;
  /** the value's source text, after `image =` */
  value: string;
  /** index of the value in the template */
  start: number;
}

/**
 * Finds `image = ...` attributes directly inside a `config` block of a task, tracking braces outside
 * strings, comments, heredocs and `[[ ]]` actions.
 */
function templateSites(text: string): RawSite[] {
  const out: RawSite[] = [];
  const stack: Frame[] = [];
  const lines = text.split("\n");
  let offset = 0;
  let heredoc: string | null = null;
  let driver: string | null = null;
  for (const [i, raw] of lines.entries()) {
    const lineStart = offset;
    offset += raw.length + 1;
    const line = raw.replace(/\r$/, "");
    if (heredoc !== null) {
      if (line.trim() === heredoc) heredoc = null;
      continue;
    }
    const bare = line
      .replace(/\[\[.*?\]\]/g, (m) => " ".repeat(m.length))
      .replace(/"(?:[^"\\]|\\.)*"/g, (m) => `"${" ".repeat(m.length - 2)}"`)
      .replace(/(#|\/\/).*$/, "");
    const doc = /<<-?([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(bare);
    const inConfig = stack.at(-1)?.header === "config";
    const task = [...stack].reverse().find((f) => /^(task|sidecar_task)\b/.test(f.header));
    const attr = /^\s*image\s*=\s*(.*?)\s*$/.exec(line);
    if (attr && inConfig && task) {
      const names = (type: string) =>
        /"([^"]*)"/.exec([...stack].reverse().find((f) => f.header.startsWith(type))?.header ?? "")?.[1] ??
        null;
      out.push({
        line: i + 1,
        job: names("job"),
        group: names("group"),
        task: names("task"),
        driver,
        value: attr[1]!,
        start: lineStart + line.indexOf(attr[1]!, line.indexOf("=") + 1),
      });
    }
    const drv = /^\s*driver\s*=\s*"([^"]*)"/.exec(line);
    if (drv && stack.at(-1)?.header.startsWith("task")) driver = drv[1]!;
    for (let c = 0; c < bare.length; c++) {
      if (bare[c] === "{") {
        const header = line.slice(0, c).split("}").pop()!.trim();
        stack.push({ header: header.replace(/\s+/g, " ") });
        if (/^(task|sidecar_task)\b/.test(header)) driver = null;
      } else if (bare[c] === "}") stack.pop();
    }
    if (doc) heredoc = doc[1]!;
  }
  return out;
}

const ACTION =
  /^\[\[-?\s*(?:var\s+"([^"]+)"\s+\.|\.([A-Za-z0-9_]+)\.([A-Za-z0-9_.]+))\s*(\|\s*quote\s*)?-?\]\]$/;

function resolveSite(
  raw: RawSite,
  input: PackInput,
  values: ReadonlyMap<string, { file: string; expr: Node }>,
): SiteDetail {
  const base = { job: raw.job, group: raw.group, task: raw.task, driver: raw.driver, line: raw.line };
  const refuse = (why: Unmanaged, reference: string | null = null): SiteDetail => ({
    ...base,
    reference,
    ref: null,
    managed: false,
    ...why,
    via: "expression",
    edit: null,
  });
  // `"prefix[[ action ]]"`, `[[ action | quote ]]` or a plain literal.
  if ((raw.value.match(/\[\[/g) ?? []).length > 1) {
    return refuse(unmanaged("split", "the image is put together from several template actions"));
  }
  let prefix = "";
  let action: string;
  const quoted = /^"((?:[^"\\[]|\\.|\[(?!\[))*)(\[\[.*?\]\])"$/.exec(raw.value);
  if (quoted) {
    prefix = decodeQuoted(quoted[1]!);
    action = quoted[2]!;
  } else if (/^\[\[.*\]\]$/.test(raw.value)) {
    action = raw.value;
    if (!/\|\s*quote\s*-?\]\]$/.test(action))
      return refuse(unmanaged("pack-template", "a template action that does not render a quoted string"));
  } else if (/^"(?:[^"\\[]|\\.|\[(?!\[))*"$/.test(raw.value)) {
    const value = decodeQuoted(raw.value.slice(1, -1));
    const ref = parseImageRef(value);
    if (!ref) return refuse(unmanaged("not-a-reference", "not a valid image reference"), value);
    const edit: EditPoint = {
      start: raw.start + 1,
      end: raw.start + raw.value.length - 1,
      text: value,
      prefix: "",
      quote: false,
      file: input.path,
    };
    return { ...base, reference: value, ref, managed: true, via: "literal", edit };
  } else {
    return refuse(unmanaged("pack-template", `a template expression (${raw.value.slice(0, 50)})`));
  }
  const m = ACTION.exec(action.replace(/\s*\|\s*quote/, " | quote"));
  if (!m)
    return refuse(
      unmanaged("pack-template", `a template action other than a pack variable (${action.slice(0, 50)})`),
    );
  let path: string[];
  if (m[1] !== undefined) path = m[1].split(".");
  else {
    const pack = packName(input.path);
    if (pack !== null && m[2] !== pack) {
      return refuse(unmanaged("pack-template", `reads .${m[2]}, another pack's variables`));
    }
    path = m[3]!.split(".");
  }
  const [name, ...keys] = path as [string, ...string[]];
  const found = values.get(name);
  if (!found) {
    return refuse(
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
  if (!lit)
    return refuse(unmanaged("expression", `${path.join(".")} is not a string written in ${found.file}`));
  const value = prefix + lit.text;
  const ref = parseImageRef(value);
  if (!ref) return refuse(unmanaged("not-a-reference", "not a valid image reference"), value);
  const edit: EditPoint = {
    start: lit.start,
    end: lit.end,
    text: lit.text,
    prefix,
    quote: false,
    file: found.file,
  };
  return { ...base, reference: value, ref, managed: true, via: "variable", edit };
}

/** The content range and value of a plain string literal (no interpolation). */
function stringLiteral(expr: Node): { start: number; end: number; text: string } | null {
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

export interface PackPinOutcome {
  edits: PinEdit[];
  skipped: PinOutcome["skipped"];
  /** new texts of the files that changed: the pack's variables.hcl, a values file, or the template */
  files: Map<string, string>;
}

/** Pins a template's images where their values are written; verifies every changed file. */
export async function pinPackTemplate(
  input: PackInput,
  targets: PinTarget[],
  options: { style?: PinStyle } = {},
): Promise<PackPinOutcome> {
  for (const t of targets) validateTarget(t);
  const analysis = await analyzePackTemplate(input);
  if (!analysis.ok) throw new JobFileError(analysis.error, analysis.line);
  const { edits, skipped, splices, expected } = planPins(analysis.sites, targets, options.style);
  const sources = [
    { path: input.path, text: input.text },
    ...(input.variables ? [input.variables] : []),
    ...(input.values ?? []),
  ];
  const files = new Map<string, string>();
  for (const f of sources) {
    const after = applySplices(f.text, f.path, splices);
    unchangedOutside(
      f.text,
      after,
      splices.filter((s) => s.file === f.path),
      ` of ${f.path}`,
    );
    if (after !== f.text) files.set(f.path, after);
  }
  if (files.size === 0) return { edits, skipped, files };
  const now = (f: { path: string; text: string }) => ({ path: f.path, text: files.get(f.path) ?? f.text });
  const again = await analyzePackTemplate({
    path: input.path,
    text: now(input).text,
    variables: input.variables && now(input.variables),
    values: input.values?.map(now),
  });
  if (!again.ok) throw new PinVerificationError(`the edited pack no longer parses: ${again.error}`);
  if (again.sites.length !== analysis.sites.length) {
    throw new PinVerificationError(
      `${analysis.sites.length} image sites before, ${again.sites.length} after`,
    );
  }
  analysis.sites.forEach((old, i) => {
    const want = expected.get(old) ?? old.reference;
    if (again.sites[i]!.line !== old.line || again.sites[i]!.reference !== want) {
      throw new PinVerificationError(
        `image is ${JSON.stringify(again.sites[i]!.reference)}, expected ${JSON.stringify(want)}`,
        old.line,
      );
    }
  });
  for (const [path, before] of analysis.semantics) {
    const mine = splices.filter((s) => s.file === path);
    const text = sources.find((f) => f.path === path)!.text;
    semanticDiff(before, again.semantics.get(path), mine, text, ` in ${path}`);
  }
  return { edits, skipped, files };
}

// Nomad Pack templates (`packs/<pack>/templates/*.nomad.tpl`): Go templates that render a job file,
// so they are read line by line, never parsed as HCL. An image written as `[[ var "image" . ]]`
// (nomad-pack v2) or `[[ .my_pack.image ]]` (v1), optionally inside a quoted string after a fixed
// prefix, comes from the pack's variables.hcl default (or a values file): that literal is pinned.
import type { Node, Tree } from "web-tree-sitter";
import { canonicalRepository, formatImageRef, parseImageRef, repositoryOf } from "../image/reference.js";
import { attribute, blockType, child, children, decodeQuoted, member } from "./hcl.js";
import {
  type EditPoint,
  type JobFileScan,
  type SiteDetail,
  type ValueRead,
  type VarFile,
  publicSite,
} from "./jobfile.js";
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

/** A template with the var files a deploy found for it: its pack's variables.hcl, then values files. */
export function packInput(path: string, text: string, varFiles: readonly VarFile[]): PackInput {
  const defaults = packVariablesFile(path);
  const variables = varFiles.find((f) => f.path === defaults) ?? null;
  return { path, text, variables, values: varFiles.filter((f) => f !== variables) };
}

/** A template scanned for a deploy: its image sites (the values' literals in the pack's files). */
export async function scanPackTemplate(
  path: string,
  text: string,
  strict: boolean,
  varFiles: readonly VarFile[],
): Promise<JobFileScan> {
  const analysis = await analyzePackTemplate(packInput(path, text, varFiles), strict);
  if (!analysis.ok) return { ok: false, error: analysis.error, line: analysis.line, images: [] };
  const reads = analysis.reads.length > 0 ? { reads: analysis.reads } : {};
  return { ok: true, images: analysis.sites.map(publicSite), ...reads };
}

export type PackAnalysis =
  | { ok: true; sites: SiteDetail[]; semantics: Map<string, unknown>; reads: ValueRead[] }
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
    const raws = templateSites(input.text);
    const found = raws.map((s) => resolveSite(s, input, values));
    const reads = templateReads(input.text, input.path).map((r) => {
      const at = raws.findIndex((s) => r.at >= s.start && r.at < s.start + s.value.length);
      return { ...r, site: at === -1 ? null : raws[at]!.line };
    });
    const sites = settle(found, reads);
    const texts = new Map([[input.path, input.text], ...sources.map((f) => [f.path, f.text] as const)]);
    for (const site of sites) {
      // Where the pin is written, as for a job file's var files (null: the template itself).
      if (!site.edit || (site.edit.file === input.path && site.via === "literal")) continue;
      const file = site.edit.file === input.path ? null : site.edit.file;
      const at = texts.get(site.edit.file ?? input.path)!;
      site.literal = { file, line: at.slice(0, site.edit.start).split("\n").length, offset: site.edit.start };
    }
    return { ok: true, sites, semantics, reads: valueReads(reads, values) };
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

function resolveSite(
  raw: RawSite,
  input: PackInput,
  values: ReadonlyMap<string, { file: string; expr: Node }>,
): PackSite {
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
function actionPart(
  action: string,
  input: PackInput,
  values: ReadonlyMap<string, { file: string; expr: Node }>,
): PartResult {
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

/** A site as resolved, with the variables its value reads (for the sharing check). */
interface PackSite {
  site: SiteDetail;
  paths: string[][];
}

/** A pack variable read anywhere in the template: in an image value (site: its line) or elsewhere. */
interface TemplateRead {
  path: string[];
  at: number;
  line: number;
  site: number | null;
}

/** Every `var "x" .` / `.pack.x` a template's actions read (also in conditions, ranges, non-image values). */
function templateReads(text: string, templatePath: string): Omit<TemplateRead, "site">[] {
  const out: Omit<TemplateRead, "site">[] = [];
  const pack = packName(templatePath);
  const reads = new RegExp(
    `\\bvar\\s+"([^"]+)"|(?<![\\w.$])\\.${pack === null ? "(?!)" : pack.replace(/[^\w]/g, "\\$&")}((?:\\.[A-Za-z0-9_]+)*)(?![\\w])`,
    "g",
  );
  for (const action of text.matchAll(/\[\[[\s\S]*?\]\]/g)) {
    for (const m of action[0].matchAll(reads)) {
      const path = m[1] !== undefined ? m[1].split(".") : m[2]!.split(".").filter((k) => k !== "");
      const at = action.index + m.index;
      out.push({ path, at, line: text.slice(0, at).split("\n").length });
    }
  }
  return out;
}

const related = (a: string[], b: string[]) => {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n).every((k, i) => k === b[i]);
};

/**
 * A variable's literal may be pinned when every read of it (or of what holds it) in the template is an
 * image site that pins that same literal, and those sites name one repository (as for job files).
 */
function settle(found: PackSite[], reads: TemplateRead[]): SiteDetail[] {
  const keyOf = (f: PackSite) => (f.site.edit ? `${f.site.edit.file}:${f.site.edit.start}` : null);
  return found.map((f) => {
    const key = keyOf(f);
    const last = f.site.edit && f.paths.length > 0 ? f.paths[f.paths.length - 1]! : null;
    if (key === null || last === null) return f.site;
    const group = found.filter((g) => keyOf(g) === key);
    const lines = new Set(group.map((g) => g.site.line));
    const others = reads.filter((r) => related(r.path, last) && (r.site === null || !lines.has(r.site)));
    const refuse = (reason: string): SiteDetail => ({
      ...f.site,
      managed: false,
      ...unmanaged("shared", reason),
      edit: null,
    });
    if (others.length > 0) {
      const where = others.map((r) => (r.site === null ? `line ${r.line}` : `the image on line ${r.site}`));
      return refuse(
        `${last.join(".")} is also read at ${[...new Set(where)].join(", ")} of the template; editing it would change that too`,
      );
    }
    const repos = new Set(group.map((g) => canonicalRepository(repositoryOf(g.site.ref!))));
    if (repos.size > 1) {
      return refuse(
        `${last.join(".")} is shared by the images on lines ${[...lines].join(", ")}, which are different repositories (${[...repos].join(", ")})`,
      );
    }
    const shared = [...lines].filter((l) => l !== f.site.line);
    return shared.length > 0 ? { ...f.site, shared } : f.site;
  });
}

/** The reads of values written in the pack's variables.hcl or a values file, for the cross-file check. */
function valueReads(
  reads: TemplateRead[],
  values: ReadonlyMap<string, { file: string; expr: Node }>,
): ValueRead[] {
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

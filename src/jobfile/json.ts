// JSON job files: the API form that `nomad job run -json` takes and Nix generates
// (`{"Job": {"TaskGroups": [{"Tasks": [{"Config": {"image": ...}}]}]}}`) and HCL's JSON syntax
// (`{"job": {"name": {"group": {"g": {"task": {"t": {"config": {"image": ...}}}}}}}}`). A small
// parser keeps every string's source range, so a pin is a splice of one string's content.
import { parseImageRef } from "../image/reference.js";
import type { SiteDetail } from "./jobfile.js";
import { unmanaged } from "./reasons.js";

type JsonNode =
  | { kind: "string"; start: number; end: number; value: string; line: number }
  | { kind: "object"; entries: Array<[string, JsonNode]>; line: number }
  | { kind: "array"; items: JsonNode[]; line: number }
  | { kind: "other"; line: number };

/** A JSON document rather than HCL: HCL's native syntax never starts with `{`. */
export function looksLikeJson(text: string): boolean {
  return /^\uFEFF?\s*\{/.test(text);
}

export type JsonAnalysis =
  { ok: true; sites: SiteDetail[]; semantic: unknown } | { ok: false; error: string; line: number | null };

export function analyzeJsonJobFile(text: string): JsonAnalysis {
  let semantic: unknown;
  let root: JsonNode;
  try {
    root = new JsonReader(text).document();
    semantic = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    const line = error instanceof JsonSyntaxError ? error.line : null;
    return { ok: false, error: `not valid JSON: ${(error as Error).message}`, line };
  }
  const sites: SiteDetail[] = [];
  const job = field(root, "Job") ?? (field(root, "TaskGroups") ? root : null);
  if (job) apiSites(job, sites);
  else hclJsonSites(root, sites);
  return { ok: true, sites, semantic };
}

function field(node: JsonNode | null | undefined, key: string): JsonNode | null {
  if (node?.kind !== "object") return null;
  // A repeated key: the last one wins, as in JSON.parse.
  for (let i = node.entries.length - 1; i >= 0; i--)
    if (node.entries[i]![0] === key) return node.entries[i]![1];
  return null;
}

const text = (node: JsonNode | null) => (node?.kind === "string" ? node.value : null);
const items = (node: JsonNode | null) => (node?.kind === "array" ? node.items : []);

function apiSites(job: JsonNode, out: SiteDetail[]) {
  const jobName = text(field(job, "ID")) ?? text(field(job, "Name"));
  for (const group of items(field(job, "TaskGroups"))) {
    for (const task of items(field(group, "Tasks"))) {
      const image = field(field(task, "Config"), "image");
      if (!image) continue;
      const ctx = { job: jobName, group: text(field(group, "Name")), task: text(field(task, "Name")) };
      out.push(site(image, { ...ctx, driver: text(field(task, "Driver")) }));
    }
  }
}

/** HCL's JSON syntax: a block type maps to labels (one level per label), each to a body or a list of bodies. */
function hclJsonSites(root: JsonNode, out: SiteDetail[]) {
  const bodies = (node: JsonNode | null): JsonNode[] =>
    node?.kind === "array"
      ? node.items.filter((n) => n.kind === "object")
      : node?.kind === "object"
        ? [node]
        : [];
  const labelled = (body: JsonNode, type: string): Array<[string, JsonNode]> => {
    const value = field(body, type);
    return bodies(value).flatMap((b) =>
      b.kind === "object"
        ? b.entries.flatMap(([label, v]) => bodies(v).map((x) => [label, x] as [string, JsonNode]))
        : [],
    );
  };
  for (const root_ of bodies(root)) {
    for (const [jobName, job] of labelled(root_, "job")) {
      for (const [groupName, group] of labelled(job, "group")) {
        for (const [taskName, task] of labelled(group, "task")) {
          for (const config of bodies(field(task, "config"))) {
            const image = field(config, "image");
            if (!image) continue;
            const ctx = {
              job: jobName,
              group: groupName,
              task: taskName,
              driver: text(field(task, "driver")),
            };
            out.push(site(image, ctx));
          }
        }
      }
    }
  }
}

function site(
  node: JsonNode,
  ctx: { job: string | null; group: string | null; task: string | null; driver: string | null },
): SiteDetail {
  const base = { ...ctx, line: node.line, via: "literal" as const, edit: null };
  if (node.kind !== "string") {
    const why = unmanaged("not-a-reference", "not a string");
    return { ...base, reference: null, ref: null, managed: false, ...why };
  }
  const ref = parseImageRef(node.value);
  if (!ref) {
    const why = node.value.includes("${")
      ? unmanaged("runtime", "an interpolation, evaluated when the job is parsed or run")
      : unmanaged("not-a-reference", "not a valid image reference");
    return { ...base, reference: node.value, ref: null, managed: false, ...why };
  }
  const edit = {
    start: node.start,
    end: node.end,
    text: node.value,
    prefix: "",
    quote: false,
    file: null,
    json: true,
  };
  return { ...base, reference: node.value, ref, managed: true, edit };
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`${message} (line ${line})`);
  }
}

/** Just enough of a JSON reader to know where each string is (and where it breaks); JSON.parse has the last word. */
class JsonReader {
  private at = 0;
  private line = 1;

  constructor(private readonly src: string) {
    if (src.startsWith("\uFEFF")) this.at = 1;
  }

  document(): JsonNode {
    const value = this.value();
    this.space();
    if (this.at !== this.src.length) throw new JsonSyntaxError("text after the document", this.line);
    return value;
  }

  private space() {
    while (this.at < this.src.length) {
      const c = this.src[this.at]!;
      if (c === "\n") this.line++;
      else if (c !== " " && c !== "\t" && c !== "\r") return;
      this.at++;
    }
  }

  private value(): JsonNode {
    this.space();
    const c = this.src[this.at];
    const line = this.line;
    if (c === "{") {
      this.at++;
      const entries: Array<[string, JsonNode]> = [];
      this.space();
      if (this.src[this.at] === "}") {
        this.at++;
        return { kind: "object", entries, line };
      }
      for (;;) {
        this.space();
        const key = this.string();
        this.space();
        this.expect(":");
        entries.push([key.value, this.value()]);
        this.space();
        if (this.src[this.at] === ",") this.at++;
        else {
          this.expect("}");
          return { kind: "object", entries, line };
        }
      }
    }
    if (c === "[") {
      this.at++;
      const list: JsonNode[] = [];
      this.space();
      if (this.src[this.at] === "]") {
        this.at++;
        return { kind: "array", items: list, line };
      }
      for (;;) {
        list.push(this.value());
        this.space();
        if (this.src[this.at] === ",") this.at++;
        else {
          this.expect("]");
          return { kind: "array", items: list, line };
        }
      }
    }
    if (c === '"') return this.string();
    const literal = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      this.src.slice(this.at, this.at + 64),
    );
    if (!literal) throw new JsonSyntaxError("unexpected character", this.line);
    this.at += literal[0].length;
    return { kind: "other", line };
  }

  private string(): Extract<JsonNode, { kind: "string" }> {
    if (this.src[this.at] !== '"') throw new JsonSyntaxError("expected a string", this.line);
    const start = this.at + 1;
    let i = start;
    while (i < this.src.length && this.src[i] !== '"') i += this.src[i] === "\\" ? 2 : 1;
    if (i >= this.src.length) throw new JsonSyntaxError("unterminated string", this.line);
    this.at = i + 1;
    // One JSON string token, quotes included: parsing it decodes its escapes (a bad one throws).
    const value = String(JSON.parse(this.src.slice(start - 1, i + 1)));
    return { kind: "string", start, end: i, value, line: this.line };
  }

  private expect(c: string) {
    if (this.src[this.at] !== c) throw new JsonSyntaxError(`expected ${JSON.stringify(c)}`, this.line);
    this.at++;
  }
}

/** Encodes a value as the content of a JSON string. */
export function encodeJsonString(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

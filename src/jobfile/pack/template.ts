// A Nomad Pack template read as text, line by line (a Go template is not HCL until rendered): where its
// tasks' `image =` lines are, and every pack variable its `[[ ]]` actions read.
import { packName } from "./input.js";

/** An `image =` line of a task's config block, before its value is resolved. */
export interface RawSite {
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

/** An open block: its header as written before the `{` (e.g. `task "web"`). */
interface Frame {
  header: string;
}

/**
 * Finds `image = ...` attributes directly inside a `config` block of a task, tracking braces outside
 * strings, comments, heredocs and `[[ ]]` actions.
 */
export function templateSites(text: string): RawSite[] {
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

/** A pack variable read anywhere in the template: in an image value (site: its line) or elsewhere. */
export interface TemplateRead {
  path: string[];
  at: number;
  line: number;
  site: number | null;
}

/** Every `var "x" .` / `.pack.x` a template's actions read (also in conditions, ranges, non-image values). */
export function templateReads(text: string, templatePath: string): Omit<TemplateRead, "site">[] {
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

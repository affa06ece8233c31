// docs/faults.md cannot drift from the tests: every row's id is the [fault:ID] tag of at least one
// running test under test/, and every tag in a test title has a row. A skipped test (it.skip, it.todo)
// or a tag written anywhere but a title does not count, so a fault whose test is switched off fails here.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DOC = path.join(ROOT, "docs/faults.md");
const HEADER = "| id | fault | what the bot does | guaranteed |";
// Built from parts so this file's own source holds no tag.
const TAG = new RegExp(`\\[${"fault"}:([^\\]\\s]*)\\]`, "g");
const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export interface FaultRow {
  id: string;
  cells: string[];
  line: number;
}

/** The rows of the table that starts with HEADER. */
export function faultRows(markdown: string): FaultRow[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === HEADER);
  if (start < 0) throw new Error(`no table with the header ${HEADER}`);
  const rows: FaultRow[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.trim().startsWith("|"); i++) {
    const cells = lines[i]!.trim()
      .replace(/^\||\|$/g, "")
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    rows.push({ id: cells[0]!.replace(/^`|`$/g, ""), cells, line: i + 1 });
  }
  return rows;
}

// A title is the first argument of it(/test(/describe( (also .each(...) and .concurrent), as a literal.
const TITLE =
  /\b(?:it|test|describe)(?:\.concurrent|\.each\((?:[^()]|\([^()]*\))*\))?\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)/g;

/** Tags in test titles, and tags anywhere else in the source (which do not count). */
export function tagsOf(source: string): { titled: string[]; stray: string[] } {
  const titled: string[] = [];
  let rest = source;
  for (const m of source.matchAll(TITLE)) {
    for (const t of m[1]!.matchAll(TAG)) titled.push(t[1]!);
    rest = rest.replace(m[1]!, "");
  }
  return { titled, stray: [...rest.matchAll(TAG)].map((t) => t[1]!) };
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return testFiles(full);
    return e.name.endsWith(".test.ts") && full !== import.meta.filename ? [full] : [];
  });
}

describe("docs/faults.md", () => {
  const rows = faultRows(readFileSync(DOC, "utf8"));
  const titled = new Map<string, string[]>();
  const stray: string[] = [];
  for (const file of testFiles(path.join(ROOT, "test"))) {
    const tags = tagsOf(readFileSync(file, "utf8"));
    for (const id of tags.titled) titled.set(id, [...(titled.get(id) ?? []), path.relative(ROOT, file)]);
    stray.push(...tags.stray.map((id) => `${path.relative(ROOT, file)}: ${id}`));
  }

  it("has one well-formed row per fault id", () => {
    expect(rows.length).toBeGreaterThan(0);
    const bad = rows.filter((r) => !ID.test(r.id) || r.cells.length !== 4 || r.cells.some((c) => c === ""));
    expect(bad.map((r) => `line ${r.line}: ${r.cells.join(" | ")}`)).toEqual([]);
    const ids = rows.map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it("every row is proved by a running test tagged with its id", () => {
    expect(rows.filter((r) => !titled.has(r.id)).map((r) => r.id)).toEqual([]);
  });

  it("every tagged test has a row", () => {
    const documented = new Set(rows.map((r) => r.id));
    expect([...titled.keys()].filter((id) => !documented.has(id))).toEqual([]);
  });

  it("tags appear only in the titles of running tests", () => {
    expect(stray).toEqual([]);
  });
});

describe("the checker itself", () => {
  it("reads rows, titles and stray tags", () => {
    const doc = [
      "intro",
      HEADER,
      "|---|---|---|---|",
      "| `a-1` | x | y \\| z | w |",
      "| b | x | y | w |",
      "",
      "| not | this | table | |",
    ].join("\n");
    expect(faultRows(doc).map((r) => [r.id, r.cells.length])).toEqual([
      ["a-1", 4],
      ["b", 4],
    ]);
    const tag = (id: string) => `[${"fault"}:${id}]`;
    const source = [
      `it("${tag("a-1")} works", () => {});`,
      `describe.each([[1], [2]])('${tag("b")} %s', () => {});`,
      `it.skip("${tag("c")} off", () => {});`,
      `// ${tag("d")} in a comment`,
    ].join("\n");
    expect(tagsOf(source)).toEqual({ titled: ["a-1", "b"], stray: ["c", "d"] });
  });
});

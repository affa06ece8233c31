// The shape of the code is held by lint (eslint.config.js), not by reviewers: each rule is shown here
// catching the forms it is for, on source text linted as if it were the named file, and letting the
// allowed forms through, so a selector that silently stops matching fails a test.
import path from "node:path";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** The rule ids and messages reported for `code` linted as `file` (relative to the project). */
async function lint(
  file: string,
  code: string,
): Promise<Array<{ rule: string | null; message: string; line: number }>> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.map((m) => ({ rule: m.ruleId, message: m.message, line: m.line }));
}

const rules = async (file: string, code: string) => (await lint(file, code)).map((m) => m.rule);

describe("Octokit calls stay in src/github/", () => {
  const calls = [
    // The form app.ts had: an Octokit held in a plain variable.
    "export const f = (octokit: any) => octokit.rest.apps.getAuthenticated();",
    "export const f = (context: any) => context.octokit.rest.pulls.get({});",
    "export const f = (gh: any) => gh.rest.repos.get({});",
    "export const f = (appOctokit: any) => appOctokit.paginate(appOctokit.x, {});",
    "export const f = (octokit: any) => octokit.graphql('query { viewer { login } }');",
    "export const f = (context: any) => context.octokit.request('GET /app');",
    "export const f = (octokit: any) => octokit.rest;",
  ];
  it.each(calls)("refuses outside src/github/: %s", async (code) => {
    const found = (await lint("src/app.ts", code)).filter((m) => m.rule === "no-restricted-syntax");
    // Once per call, however many of the shapes it has.
    expect(found).toEqual([expect.objectContaining({ message: expect.stringMatching(/src\/github/) })]);
    expect(await rules("src/handlers/x.ts", code)).toContain("no-restricted-syntax");
  });

  it("allows them in src/github/, and other `.request` calls anywhere", async () => {
    for (const code of calls)
      expect(await rules("src/github/x.ts", code)).not.toContain("no-restricted-syntax");
    const http =
      "import http from 'node:http';\nexport const f = (t: { request(x: object): void }) => [http.request('x'), t.request({})];";
    expect(await rules("src/registry/x.ts", http)).toEqual([]);
  });
});

describe("JSON is parsed with a schema, never cast", () => {
  const casts = [
    "type T = { a: string };\nexport const f = (s: string) => JSON.parse(s) as T;",
    "type T = { a: string };\nexport const f = (s: string) => <T>JSON.parse(s);",
    "type T = { a: string };\nexport const f = (s: string) => JSON.parse(s) as unknown as T;",
    "export const f = (s: string) => JSON.parse(s) as Record<string, unknown>;",
    "type T = { a: string };\nexport function f(s: string) {\n  const v: T = JSON.parse(s);\n  return v;\n}",
  ];
  it.each(casts)("refuses in every folder of src/: %s", async (code) => {
    for (const file of ["src/action/x.ts", "src/handlers/x.ts", "src/github/x.ts", "src/jobfile/x.ts"]) {
      const found = await lint(file, code);
      expect(found).toContainEqual(
        expect.objectContaining({ rule: "no-restricted-syntax", message: expect.stringMatching(/zod/) }),
      );
    }
  });

  it("allows JSON.parse into unknown, then checked", async () => {
    const code = [
      "import { z } from 'zod';",
      "const S = z.object({ a: z.string() });",
      "export const f = (s: string) => S.parse(JSON.parse(s));",
      "export const g = (s: string) => JSON.parse(s) as unknown;",
      "export function h(s: string) {\n  const v: unknown = JSON.parse(s);\n  return S.parse(v);\n}",
    ].join("\n");
    expect(await rules("src/handlers/x.ts", code)).toEqual([]);
  });
});

describe("files stay small", () => {
  it("refuses a file of src/ above 400 lines of code, not counting blank lines and comments", async () => {
    const code = (n: number) => Array.from({ length: n }, (_, i) => `export const v${i} = ${i};`).join("\n");
    const padding = "\n// a comment\n\n/* another */\n".repeat(100);
    expect(await rules("src/core/x.ts", code(400) + padding)).toEqual([]);
    const found = await lint("src/core/x.ts", code(401));
    expect(found).toContainEqual(
      expect.objectContaining({ rule: "max-lines", message: expect.stringMatching(/401/) }),
    );
  });
});

describe("folder rules for the Action's shell", () => {
  it("keeps src/action/ from the App's server and the demo", async () => {
    for (const target of ["../app.js", "../server.js", "../demo/run.js"]) {
      expect(await rules("src/action/x.ts", `import { x } from "${target}";\nexport const y = x;`)).toContain(
        "no-restricted-imports",
      );
    }
    expect(await rules("src/action/x.ts", 'import { x } from "probot";\nexport const y = x;')).toContain(
      "no-restricted-imports",
    );
  });

  it("lets src/action/ run the deploy flow through handlers/, cli/ and github/", async () => {
    const code = [
      'import { deployTo } from "../handlers/deploy.js";',
      'import { planJson } from "../cli/deploy.js";',
      'import { GitHubRepo } from "../github/repo.js";',
      "export const all = [deployTo, planJson, GitHubRepo];",
    ].join("\n");
    expect(await rules("src/action/x.ts", code)).toEqual([]);
  });

  it("lets nothing import src/action/", async () => {
    const code = 'import { runAction } from "../action/run.js";\nexport const f = runAction;';
    for (const file of [
      "src/handlers/x.ts",
      "src/cli/x.ts",
      "src/core/x.ts",
      "src/github/x.ts",
      "src/jobfile/x.ts",
    ])
      expect(await rules(file, code)).toContain("no-restricted-imports");
  });
});

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfigText } from "../../src/config/load.js";
import { formatConfigErrors, parseConfig } from "../../src/config/schema.js";
import { CONFIG_DOC, EXAMPLES, configDocText } from "../../scripts/gen-config-doc.js";

describe("docs/config.md", () => {
  it("is what scripts/gen-config-doc.ts renders from the schema (run `npm run docs`)", () => {
    expect(readFileSync(CONFIG_DOC, "utf8")).toBe(configDocText());
  });

  it("documents every key of the schema, nested ones included", () => {
    const text = configDocText();
    for (const key of [
      "registry",
      "build.trigger",
      "services[].paths",
      "release_notes.github_release",
      "vars",
    ]) {
      expect(text).toContain(`### \`${key}\``);
    }
    expect(text).toContain('`"tag+digest"` \\| `"digest"`');
    expect(text).toContain(
      'default: `["**/*.nomad","**/*.nomad.hcl","**/*.nomad.json","**/templates/*.nomad.tpl"]`',
    );
  });

  it.each(EXAMPLES.filter((e) => !e.appOnly).map((e) => [e.title, e] as const))(
    "example %s is a valid config",
    (_title, example) => {
      const result = parseConfigText(example.yaml);
      expect(result.ok ? "" : formatConfigErrors(result.errors)).toBe("");
    },
  );

  it("the _extends example is valid once merged the way Probot's config loader merges it", () => {
    const example = EXAMPLES.find((e) => e.appOnly && e.base)!;
    const own = parse(example.yaml) as Record<string, unknown>;
    expect(own._extends).toBe(".github");
    delete own._extends;
    const merged = { ...(parse(example.base!.yaml) as Record<string, unknown>), ...own };
    const result = parseConfig(merged);
    expect(result.ok ? "" : formatConfigErrors(result.errors)).toBe("");
    // As the doc says, the CLI (which has no _extends) refuses the repository's own file.
    const cli = parseConfigText(example.yaml);
    expect(cli.ok ? "" : formatConfigErrors(cli.errors)).toBe('unknown key "_extends"');
  });
});

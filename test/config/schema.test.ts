import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configJsonSchemaText } from "../../src/config/json-schema.js";
import { CONFIG_PATH, parseConfigText } from "../../src/config/load.js";
import { formatConfigErrors, parseConfig } from "../../src/config/schema.js";

const errorsOf = (text: string) => {
  const result = parseConfigText(text);
  if (result.ok) throw new Error("expected the config to be rejected");
  return formatConfigErrors(result.errors);
};

describe("config schema", () => {
  it("fills every default from the design's minimal zero-config file", () => {
    expect(parseConfigText("registry: ghcr.io/acme/platform\n")).toMatchInlineSnapshot(`
      {
        "config": {
          "build": {
            "tag": "{sha}",
            "trigger": "push",
          },
          "compare": "content",
          "dashboard": false,
          "jobs": [
            "**/*.nomad",
            "**/*.nomad.hcl",
            "**/*.nomad.json",
            "**/templates/*.nomad.tpl",
          ],
          "pin": "digest",
          "pr": {
            "branch": "nomad-gitops/deploy",
            "labels": [],
            "title": "Deploy {services}",
          },
          "registry": "ghcr.io/acme/platform",
          "release_notes": {
            "file": "RELEASES.md",
            "github_release": false,
          },
          "retag": [
            "{sha}",
          ],
          "vars": {},
        },
        "ok": true,
      }
    `);
  });

  it("accepts the full example of DESIGN §2", () => {
    const result = parseConfigText(`
registry: ghcr.io/acme/platform          # image prefix for discovery (optional)
branches: [main]
build: { workflow: images.yml, trigger: dispatch, tag: "{short_sha}" }
services:
  - name: banana
    image: ghcr.io/acme/platform/banana
    paths: [services/banana/**, protos/**]
    jobs: [nomad/banana.nomad.hcl]
retag: ["{sha}", deployed]
pin: digest
pr: { branch: nomad-gitops/deploy, labels: [deploy], title: "Deploy {services}" }
release_notes: { file: "{job_dir}/CHANGELOG.md", github_release: draft }
nomad: { address: "https://nomad.example:4646", namespace: prod }
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.services).toEqual([
      {
        name: "banana",
        image: "ghcr.io/acme/platform/banana",
        paths: ["services/banana/**", "protos/**"],
        jobs: ["nomad/banana.nomad.hcl"],
      },
    ]);
    expect(result.config.build).toEqual({ workflow: "images.yml", trigger: "dispatch", tag: "{short_sha}" });
    expect(result.config.nomad).toEqual({
      address: "https://nomad.example:4646",
      namespace: "prod",
      submit: false,
      environment: "production",
      timeout_ms: 5000,
      follow_minutes: 15,
    });
    expect(result.config.release_notes).toEqual({ file: "{job_dir}/CHANGELOG.md", github_release: "draft" });
  });

  it("names every mistake with its dotted key path", () => {
    expect(
      errorsOf(`
registry: ghcr.io/acme/platform
build: { trigger: pull, tag: "{commit}" }
services:
  - name: banana
    imgae: ghcr.io/acme/platform/banana
  - name: kiwi
    image: ghcr.io/acme/platform/Kiwi:1.0
    paths: services/kiwi
pin: digests
retag: [":bad"]
release_notes: { file: 3 }
nomad: { address: not-a-url }
`),
    ).toMatchInlineSnapshot(`
      "build.trigger: must be one of "push", "dispatch"
      build.tag: may only use the placeholders {sha}, {short_sha}, {branch}
      services.0.image: is required (string)
      services.0: unknown key "imgae"
      services.1.image: must be an image repository without tag or digest, e.g. "ghcr.io/acme/platform/banana" (lowercase path)
      services.1.paths: must be an array, got string "services/kiwi"
      retag.0: must be a valid image tag (letters, digits, '_', '.', '-') apart from the placeholders
      pin: must be one of "tag+digest", "digest"
      release_notes.file: must be a file path (may use {job_dir}, {service}) or false
      nomad.address: must be a URL such as "https://nomad.example:4646""
    `);
  });

  it("catches typos in top-level keys and duplicate service names", () => {
    expect(errorsOf("registry: ghcr.io/acme/platform\nbranch: [main]\n")).toBe('unknown key "branch"');
    expect(
      errorsOf(`
services:
  - { name: api, image: ghcr.io/acme/api }
  - { name: api, image: ghcr.io/acme/api2 }
`),
    ).toBe('services.1.name: duplicate service name "api" (also services.0.name)');
  });

  it("keeps the release notes file inside the repository", () => {
    expect(errorsOf("registry: ghcr.io/a\nrelease_notes: { file: ../../etc/motd }\n")).toBe(
      "release_notes.file: must be a path inside the repository (no leading / or ..)",
    );
    expect(errorsOf('registry: ghcr.io/a\nrelease_notes: { file: "{jobdir}/x.md" }\n')).toBe(
      "release_notes.file: may only use the placeholders {job_dir}, {service}",
    );
  });

  it("needs either a registry prefix or a service list", () => {
    expect(errorsOf("")).toBe(
      "registry: set `registry` (the image prefix for zero-config discovery) or list `services`",
    );
    expect(parseConfig(null)).toEqual(parseConfig({}));
  });

  it("reports YAML syntax errors with their line and refuses non-mappings", () => {
    expect(errorsOf("registry: ghcr.io/acme\nbranches: [main\npin: digest\n")).toMatch(
      /^YAML syntax error at line 3, column 1: /,
    );
    expect(errorsOf("registry: a\nregistry: b\n")).toBe(
      "YAML syntax error at line 2, column 1: Map keys must be unique",
    );
    expect(errorsOf("- registry: ghcr.io/acme\n")).toBe("the config must be a mapping of keys");
    expect(CONFIG_PATH).toBe(".github/nomad-gitops.yml");
  });

  it("keeps schema/nomad-gitops.schema.json in step with the zod schema (run `npm run schema`)", () => {
    const committed = readFileSync(new URL("../../schema/nomad-gitops.schema.json", import.meta.url), "utf8");
    expect(committed).toBe(configJsonSchemaText());
    const schema = JSON.parse(committed) as {
      additionalProperties: boolean;
      properties: Record<string, unknown>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(
      [
        "branches",
        "build",
        "compare",
        "dashboard",
        "jobs",
        "nomad",
        "pin",
        "pr",
        "provenance",
        "registry",
        "release_notes",
        "retag",
        "services",
        "vars",
      ].sort(),
    );
  });
});

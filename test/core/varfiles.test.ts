// The pipeline with var files (config `vars` and <job>.vars.hcl) and values several image sites share.
import { describe, expect, it } from "vitest";
import { runDeploy } from "../../src/core/pipeline.js";
import { MemoryRepo, NEW_SHA, TableRegistry, config, digest } from "./fixture.js";

const job = (name: string, image: string) =>
  [
    `variable "${name}_image" {}`,
    `job "${name}" {`,
    `  group "g" {`,
    `    task "${name}" {`,
    `      driver = "docker"`,
    `      config { image = ${image} }`,
    `    }`,
    `  }`,
    `}`,
    ``,
  ].join("\n");

const files = () =>
  new Map([
    ["deploy/web.nomad.hcl", job("web", "var.web_image")],
    ["deploy/web.vars.hcl", 'web_image = "ghcr.io/acme/web:old"\n'],
    ["deploy/api.nomad.hcl", job("api", '"ghcr.io/acme/api:${var.api_tag}"').replace("api_image", "api_tag")],
    ["deploy/prod.vars.hcl", '# production\napi_tag = "old"\n'],
    ["deploy/other.nomad.hcl", job("other", "var.other_image")],
  ]);

const run = async (yaml: string, repo = new MemoryRepo(files())) => {
  const registry = new TableRegistry({
    [`ghcr.io/acme/web:${NEW_SHA}`]: digest("a"),
    [`ghcr.io/acme/api:${NEW_SHA}`]: digest("b"),
  });
  const result = await runDeploy({
    config: config(yaml),
    build: { sha: NEW_SHA, branch: "main" },
    repo,
    registry,
    mode: "plan",
    clock: { now: () => new Date("2026-11-29T12:00:00Z") },
  });
  return { result, repo };
};

describe("var files in a deploy", () => {
  it("pins the values in the var files (convention and config), in the same one listing and one read", async () => {
    const { result, repo } = await run(`
registry: ghcr.io/acme
vars: { "deploy/api.nomad.hcl": [deploy/prod.vars.hcl] }
release_notes: { file: false }
`);
    expect(result.plan.services.map((s) => `${s.name} ${s.status}`)).toEqual(["api new", "web new"]);
    expect(result.files.map((f) => [f.path, f.after])).toEqual([
      // `repo:${var.api_tag}`: only the tag literal is editable, so it keeps its tag (docs/config.md, pin).
      ["deploy/prod.vars.hcl", `# production\napi_tag = "${NEW_SHA}@${digest("b")}"\n`],
      ["deploy/web.vars.hcl", `web_image = "ghcr.io/acme/web@${digest("a")}"\n`],
    ]);
    expect(repo.calls.filter((c) => c.startsWith("list") || c.startsWith("read"))).toEqual([
      "list **/*.nomad,**/*.nomad.hcl,**/*.nomad.json,**/templates/*.nomad.tpl,**/*.vars.hcl,**/variables.hcl,deploy/prod.vars.hcl",
      "read 5",
      "read 0", // release notes files: none with `file: false`
    ]);
    // The job without a value anywhere says so, and what would make it pinnable.
    expect(result.plan.unknownSites).toEqual([
      expect.objectContaining({
        file: "deploy/other.nomad.hcl",
        reason: expect.stringContaining("no var file"),
      }),
    ]);
  });

  it("a var file named in the config that does not exist is an error for its job file alone", async () => {
    const { result } = await run(`
registry: ghcr.io/acme
vars: { "deploy/api.nomad.hcl": [deploy/missing.vars.hcl] }
release_notes: { file: false }
`);
    expect(result.plan.fileErrors).toEqual([
      {
        file: "deploy/api.nomad.hcl",
        line: null,
        error: "var file deploy/missing.vars.hcl could not be read",
      },
    ]);
    expect(result.plan.services.map((s) => `${s.name} ${s.status}`)).toEqual(["web new"]);
  });

  it("a value two services read is not pinned for either, with the reason and what would make it pinnable", async () => {
    const repo = new MemoryRepo(
      new Map([
        ["deploy/web.nomad.hcl", job("web", "var.web_image")],
        ["deploy/web.vars.hcl", 'web_image = "ghcr.io/acme/web:old"\n'],
        // Same repository through the same var file value, but only web's files belong to service web.
        ["deploy/web-canary.nomad.hcl", job("web", "var.web_image")],
      ]),
    );
    const { result } = await run(
      `
services:
  - { name: web, image: ghcr.io/acme/web, jobs: [deploy/web.nomad.hcl] }
vars: { "deploy/web-canary.nomad.hcl": [deploy/web.vars.hcl] }
release_notes: { file: false }
`,
      repo,
    );
    const web = result.plan.services[0]!;
    expect(web.status).toBe("error");
    expect(web.reason).toContain(
      "also the image at deploy/web-canary.nomad.hcl:6, which belongs to no service",
    );
    expect(web.reason).toContain("give each service its own variable");
    expect(result.files).toEqual([]);
  });

  it("a var file value is not pinned when another job file reads it in an unmanaged image or outside image sites", async () => {
    const reader = (extra: string) =>
      new MemoryRepo(
        new Map([
          ["deploy/api.nomad.hcl", files().get("deploy/api.nomad.hcl")!],
          ["deploy/prod.vars.hcl", '# production\napi_tag = "old"\n'],
          ["deploy/reader.nomad.hcl", extra],
        ]),
      );
    const yaml = `
registry: ghcr.io/acme
vars: { "deploy/*.nomad.hcl": [deploy/prod.vars.hcl] }
release_notes: { file: false }
`;
    // An image Nomad completes at runtime: unmanaged (no reference at all), but it reads the value.
    const unmanagedImage = job("worker", '"ghcr.io/acme/worker:${var.api_tag}-${NOMAD_ALLOC_INDEX}"').replace(
      "worker_image",
      "api_tag",
    );
    const first = await run(yaml, reader(unmanagedImage));
    expect(first.result.plan.unknownSites.map((u) => `${u.file}:${u.line}`)).toEqual([
      "deploy/reader.nomad.hcl:6",
    ]);
    const api = first.result.plan.services.find((s) => s.name === "api")!;
    expect(api.status).toBe("error");
    expect(api.reason).toContain(
      "its value in deploy/prod.vars.hcl is also read at deploy/reader.nomad.hcl:6, by an image that is not pinned with it",
    );
    expect(first.result.files).toEqual([]);

    // A read outside any image (a meta value): pinning would change it too.
    const meta = [
      'variable "api_tag" {}',
      'job "reader" {',
      "  meta { version = var.api_tag }",
      "}",
      "",
    ].join("\n");
    const second = await run(yaml, reader(meta));
    const api2 = second.result.plan.services.find((s) => s.name === "api")!;
    expect(api2.status).toBe("error");
    expect(api2.reason).toContain("also read at deploy/reader.nomad.hcl:3, outside an image site");
    expect(second.result.files).toEqual([]);

    // The control: without the other reader the value is pinned.
    const alone = await run(yaml, reader('job "reader" {}\n'));
    expect(alone.result.files.map((f) => f.path)).toEqual(["deploy/prod.vars.hcl"]);
  });
});

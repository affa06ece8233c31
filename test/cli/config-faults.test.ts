// Config faults through the CLI: a glob outside the repository, a YAML alias bomb and an oversized file
// are an invalid config (exit 2, naming the file and the key, before any registry request); a `vars`
// glob that matches no job file, or a var file that does not exist, is reported by its key like a
// `jobs` glob that matches nothing (exit 1). Real git repositories, the real registry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const repos: GitFixture[] = [];

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  for (const r of repos) await r.remove();
  await registry?.stop();
});

async function builtRepo(): Promise<GitFixture> {
  const repo = await GitFixture.create(registry.host, registry.directHost);
  repos.push(repo);
  await repo.build(await repo.git("rev-parse", "HEAD"));
  return repo;
}

const run = async (repo: GitFixture, ...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr.replaceAll(repo.dir, "REPO") };
};

/** Every command that reads the config refuses it the same way, and nothing reaches the registry. */
async function refusedEverywhere(repo: GitFixture): Promise<string> {
  registry.clearRequests();
  const plan = await run(repo, "plan");
  const apply = await run(repo, "apply", "--commit", "deploy");
  expect([plan.code, apply.code]).toEqual([2, 2]);
  expect(apply.stderr.replace("apply:", "plan:")).toBe(plan.stderr);
  expect(registry.requests()).toEqual([]);
  expect(await repo.git("branch", "--list", "deploy")).toBe("");
  expect(await repo.git("status", "--porcelain")).toBe("");
  return plan.stderr;
}

describe("an invalid config", () => {
  it("[fault:config-glob-outside-repository] a `jobs`, `vars` or `paths` glob with `..` or an absolute path: exit 2 saying it is outside the repository", async () => {
    const repo = await builtRepo();
    const config = await repo.read(".github/nomad-gitops.yml");
    await repo.write(
      ".github/nomad-gitops.yml",
      config.replace("paths: [services/kiwi/**]", "paths: [/services/kiwi/**]") +
        "jobs: ['../infra/*.nomad.hcl', 'nomad/*.nomad.hcl']\nvars: { 'nomad/*.nomad.hcl': [../secrets/prod.vars.hcl] }\n",
    );
    await repo.commit("globs outside");
    expect(await refusedEverywhere(repo)).toMatchInlineSnapshot(`
      "nomad-gitops-bot plan: invalid .github/nomad-gitops.yml:
        services.1.paths.0: "/services/kiwi/**" is outside the repository: write it relative to the repository root (no leading "/", no "..")
        jobs.0: "../infra/*.nomad.hcl" is outside the repository: write it relative to the repository root (no leading "/", no "..")
        vars."nomad/*.nomad.hcl".0: "../secrets/prod.vars.hcl" is outside the repository: write it relative to the repository root (no leading "/", no "..")
      "
    `);
  });

  it("[fault:config-alias-bomb] a YAML alias bomb (billion laughs): exit 2 naming the file and the key, nothing expanded", async () => {
    const repo = await builtRepo();
    const config = await repo.read(".github/nomad-gitops.yml");
    const bomb = [
      'lol0: &lol0 "lol"',
      ...Array.from(
        { length: 9 },
        (_, i) => `lol${i + 1}: &lol${i + 1} [${Array(9).fill(`*lol${i}`).join(", ")}]`,
      ),
    ];
    await repo.write(
      ".github/nomad-gitops.yml",
      `${config}x-defaults:\n${bomb.map((l) => `  ${l}\n`).join("")}`,
    );
    await repo.commit("bomb");
    expect(await refusedEverywhere(repo)).toMatchInlineSnapshot(`
      "nomad-gitops-bot plan: invalid .github/nomad-gitops.yml:
        x-defaults.lol3: YAML aliases expand too far (one anchor expanded more than 100 times, counting the aliases inside it, as in a "billion laughs" document): write the values out or use fewer nested aliases
      "
    `);
  });

  it("[fault:config-too-large] a config over 1 MiB: exit 2 saying its size and the limit, not parsed", async () => {
    const repo = await builtRepo();
    const config = await repo.read(".github/nomad-gitops.yml");
    await repo.write(".github/nomad-gitops.yml", `${config}# ${"x".repeat(1024 * 1024)}\n`);
    await repo.commit("huge");
    expect(await refusedEverywhere(repo)).toMatchInlineSnapshot(`
      "nomad-gitops-bot plan: invalid .github/nomad-gitops.yml:
        the file is 1025 KiB; a config may be at most 1024 KiB
      "
    `);
  });

  it("a config that reuses a list through a few aliases is still read", async () => {
    const repo = await builtRepo();
    const built = await repo.git("rev-parse", "HEAD");
    await repo.write(
      ".github/nomad-gitops.yml",
      [
        `registry: ${registry.host}/acme`,
        "services:",
        `  - { name: banana, image: ${registry.host}/acme/banana, paths: &shared [lib/**, services/banana/**] }`,
        `  - { name: kiwi, image: ${registry.host}/acme/kiwi, paths: *shared }`,
        `  - { name: mango, image: ${registry.host}/acme/mango, paths: *shared }`,
        "",
      ].join("\n"),
    );
    await repo.commit("aliases");
    const plan = await run(repo, "plan", "--sha", built, "--json");
    expect(plan.code).toBe(0);
    const data = JSON.parse(plan.stdout) as { services: Array<{ name: string }>; configProblems: unknown[] };
    expect(data.services.map((s) => s.name)).toEqual(["banana", "kiwi", "mango"]);
    expect(data.configProblems).toEqual([]);
  });
});

describe("a `vars` entry that selects nothing", () => {
  it("[fault:vars-glob-matches-nothing] a `vars` glob that matches no job file, or a var file that does not exist: exit 1 naming the key", async () => {
    const repo = await builtRepo();
    const config = await repo.read(".github/nomad-gitops.yml");
    await repo.write("nomad/prod.vars.hcl", "# no values yet\n");
    await repo.write(
      ".github/nomad-gitops.yml",
      `${config}vars:\n  'deploy/*.nomad.hcl': [nomad/prod.vars.hcl]\n  'nomad/kiwi.nomad.hcl': [nomad/prod.vars.hcl, nomad/kiwi.prod.vars.hcl]\n`,
    );
    await repo.commit("vars typos");
    registry.clearRequests();
    const plan = await run(repo, "plan", "--json");
    expect(plan.code).toBe(1);
    const data = JSON.parse(plan.stdout) as { configProblems: unknown[]; fileErrors: unknown[] };
    expect(data.configProblems).toEqual([
      { key: 'vars["deploy/*.nomad.hcl"]', message: '"deploy/*.nomad.hcl" matches no job file' },
      {
        key: 'vars["nomad/kiwi.nomad.hcl"][1]',
        message: 'var file "nomad/kiwi.prod.vars.hcl" does not exist',
      },
    ]);
    // The job that names the missing file is not read without it (Nomad would refuse the -var-file).
    expect(data.fileErrors).toEqual([
      {
        file: "nomad/kiwi.nomad.hcl",
        line: null,
        error: "var file nomad/kiwi.prod.vars.hcl could not be read",
      },
    ]);
    const text = await run(repo, "plan");
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      'config vars["deploy/*.nomad.hcl"]: "deploy/*.nomad.hcl" matches no job file\n',
    );
  });
});

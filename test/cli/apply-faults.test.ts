// apply (and plan, pin) under faults a user meets: a config that selects nothing, `--commit` against
// branches it must not rewrite, two runs racing for one branch, uncommitted edits, symlinked job files,
// file modes. Real git repositories, the real registry, the real bin for concurrent processes.
import { chmod, lstat, mkdir, readlink, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

const BIN = new URL("../../bin/nomad-gitops-bot", import.meta.url).pathname;
let registry: TestRegistry;
const repos: GitFixture[] = [];

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  registry?.intercept(null);
  for (const r of repos) await r.remove();
  await registry?.stop();
});

/** A fresh monorepo whose HEAD was built (every image pushed under its sha). */
async function builtRepo(): Promise<GitFixture> {
  const repo = await GitFixture.create(registry.host, registry.directHost);
  repos.push(repo);
  await repo.build(await repo.git("rev-parse", "HEAD"));
  return repo;
}

const run = async (repo: GitFixture, ...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};

/** Requests that write to the registry. */
const registryWrites = () => registry.requests().filter((r) => r.method !== "GET" && r.method !== "HEAD");

describe("a config that selects nothing", () => {
  it("[fault:config-selects-nothing] a `registry` prefix no image is under: exit 1 naming the key, nothing written or committed", async () => {
    const repo = await builtRepo();
    await repo.write(".github/nomad-gitops.yml", `registry: ${registry.host}/acmee\n`);
    await repo.commit("typo");
    const plan = await run(repo, "plan");
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      `config registry: no image in the job files is under ${registry.host}/acmee (they use ${registry.host}/acme/banana`,
    );
    registry.clearRequests();
    const apply = await run(repo, "apply", "--commit", "deploy");
    expect(apply.code).toBe(1);
    expect(registryWrites()).toEqual([]);
    expect(apply.stdout).toContain("config registry: no image in the job files is under");
    expect(await repo.git("branch", "--list", "deploy")).toBe("");
    expect(await repo.git("status", "--porcelain")).toBe("");
  });

  it("[fault:jobs-glob-matches-nothing] a `jobs` or `services[].jobs` glob that matches no file: exit 1 naming the key", async () => {
    const repo = await builtRepo();
    const config = await repo.read(".github/nomad-gitops.yml");
    await repo.write(
      ".github/nomad-gitops.yml",
      config
        .replace(/paths: \[services\/kiwi\/\*\*\] \}/, "paths: [services/kiwi/**], jobs: [nomd/kiwi.hcl] }")
        .concat("jobs: ['nomad/*.nomad.hcl', 'deploy/**/*.hcl']\n"),
    );
    await repo.commit("typos");
    const plan = await run(repo, "plan", "--json");
    expect(plan.code).toBe(1);
    const data = JSON.parse(plan.stdout) as {
      configProblems: unknown[];
      services: Array<{ name: string; status: string; reason?: string }>;
    };
    expect(data.configProblems).toEqual([
      { key: "jobs[1]", message: '"deploy/**/*.hcl" matches no file' },
      { key: "services[1].jobs[0]", message: '"nomd/kiwi.hcl" matches no file' },
    ]);
    // kiwi's own glob found nothing, so kiwi is an error too, named by its key.
    expect(data.services.find((s) => s.name === "kiwi")).toMatchObject({
      status: "error",
      reason: `services[1].image: no job file uses ${registry.host}/acme/kiwi`,
    });
  });

  it("[fault:service-image-unused] a service whose image no job file uses: an error naming `services[i].image`, exit 1", async () => {
    const repo = await builtRepo();
    const config = await repo.read(".github/nomad-gitops.yml");
    await repo.write(".github/nomad-gitops.yml", config.replace("acme/mango,", "acme/mangoo,"));
    await repo.commit("typo");
    const plan = await run(repo, "plan");
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(
      new RegExp(`mango +error +services\\[2\\]\\.image: no job file uses ${registry.host}/acme/mangoo`),
    );
  });

  it("[fault:config-is-directory] a config path that is a directory, and [fault:config-yaml-name] a .yaml spelling: one clear line, exit 2", async () => {
    const dir = await builtRepo();
    await execa("git", ["mv", ".github/nomad-gitops.yml", ".github/nomad-gitops.yaml"], { cwd: dir.dir });
    const yaml = await run(dir, "plan");
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toBe(
      `nomad-gitops-bot plan: no .github/nomad-gitops.yml in ${dir.dir}, but there is .github/nomad-gitops.yaml: rename it to nomad-gitops.yml (only that name is read)\n`,
    );
    await mkdir(path.join(dir.dir, ".github/nomad-gitops.yml"));
    const isDir = await run(dir, "plan");
    expect(isDir.code).toBe(2);
    expect(isDir.stderr).toBe(
      `nomad-gitops-bot plan: .github/nomad-gitops.yml in ${dir.dir} is a directory, not a file\n`,
    );
  });
});

describe("apply --commit BRANCH", () => {
  it("[fault:commit-bad-branch] an invalid branch name, the checked-out branch, or one with someone's commits: refused before any registry request", async () => {
    const repo = await builtRepo();
    await repo.git("branch", "deploy");
    await repo.git("checkout", "-q", "deploy");
    await repo.write("notes.txt", "mine\n");
    const theirs = await repo.commit("someone's work on deploy");
    await repo.git("checkout", "-q", "main");
    registry.clearRequests();
    const cases = [
      ["bad..name", `"bad..name" is not a valid branch name`],
      ["main", "main is checked out: the deploy commit goes on a branch nobody works on"],
      [
        "deploy",
        `deploy has 1 commit that HEAD lacks and nomad-gitops-bot did not make (e.g. ${theirs.slice(0, 7)}); rewriting it would drop it (--force to do it anyway)`,
      ],
    ];
    for (const [branch, message] of cases) {
      const out = await run(repo, "apply", "--commit", branch!);
      expect(out.code).toBe(2);
      expect(out.stderr).toBe(`nomad-gitops-bot apply: ${message}\n`);
    }
    expect(registry.requests()).toEqual([]);
    expect(await repo.git("rev-parse", "deploy")).toBe(theirs);
    expect(await repo.git("status", "--porcelain")).toBe("");
    // --force takes the branch anyway: HEAD plus the bot's commit.
    const forced = await run(repo, "apply", "--commit", "deploy", "--force");
    expect(forced.code).toBe(0);
    expect(await repo.git("rev-parse", "deploy^")).toBe(await repo.git("rev-parse", "HEAD"));
  });

  it("[fault:commit-uncommitted-edits] uncommitted edits stay out of the commit and are not overwritten", async () => {
    const repo = await builtRepo();
    const edited = (await repo.read("nomad/kiwi.nomad.hcl")).replace(
      'job "kiwi" {',
      'job "kiwi" {\n  # WIP, not committed',
    );
    await repo.write("nomad/kiwi.nomad.hcl", edited);
    const out = await run(repo, "apply", "--commit", "deploy");
    expect(out.code).toBe(0);
    const committed = await repo.git("show", "deploy:nomad/kiwi.nomad.hcl");
    expect(committed).toMatch(/image = ".+\/acme\/kiwi@sha256:[0-9a-f]{64}"/);
    expect(committed).not.toContain("WIP");
    expect(out.stdout).toContain(
      "left nomad/kiwi.nomad.hcl alone: it has uncommitted changes (the commit has the new text)",
    );
    expect(await repo.read("nomad/kiwi.nomad.hcl")).toBe(edited);
    // The clean files got the same text as the commit.
    expect(await repo.read("nomad/banana.nomad.hcl")).toBe(
      await repo.git("show", "deploy:nomad/banana.nomad.hcl").then((t) => `${t}\n`),
    );
    expect(await repo.git("diff", "--cached", "--name-only")).toBe("");
  });

  it("[fault:commit-race] two concurrent processes on one branch: one commit lands, the other exits 1 and says why", async () => {
    const repo = await builtRepo();
    // Slow registry answers keep both runs between their branch check and their commit at once.
    registry.intercept({
      request: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return undefined;
      },
    });
    const runs = await Promise.all(
      [0, 1].map(() => execa(BIN, ["apply", "--commit", "deploy", "--repo", repo.dir], { reject: false })),
    );
    registry.intercept(null);
    const codes = runs.map((r) => r.exitCode).sort();
    expect(codes).toEqual([0, 1]);
    const winner = runs.find((r) => r.exitCode === 0)!;
    const loser = runs.find((r) => r.exitCode === 1)!;
    const sha = /committed ([0-9a-f]{12}) on deploy/.exec(winner.stdout)![1]!;
    expect(await repo.git("rev-parse", "deploy")).toMatch(new RegExp(`^${sha}`));
    expect(loser.stdout).not.toContain("committed");
    expect(loser.stderr).toMatch(
      /^nomad-gitops-bot apply: not committed: deploy moved while this run worked \(it was created to [0-9a-f]{12}\): nothing committed; run apply again$/m,
    );
    // One commit on top of HEAD; the working tree holds exactly the winner's texts.
    expect(await repo.git("rev-list", "--count", "main..deploy")).toBe("1");
    expect(await repo.git("diff", "deploy", "--", "nomad")).toBe("");
  }, 120_000);
});

describe("job files on disk", () => {
  it("[fault:symlink-job-file] a symlinked job file is never followed nor replaced, and is named in the output", async () => {
    const repo = await builtRepo();
    const outside = path.join(os.tmpdir(), `ngb-outside-${process.pid}.nomad.hcl`);
    await writeFile(outside, `job "secret" {\n  # TOP-SECRET outside the repository\n}\n`);
    await symlink(outside, path.join(repo.dir, "nomad/linked.nomad.hcl"));
    await repo.build(await repo.commit("a link out of the repository"));
    for (const argv of [
      ["apply", "--json"],
      ["apply", "--commit", "deploy", "--json"],
    ]) {
      const out = await run(repo, ...argv);
      expect(out.code).toBe(1);
      expect(out.stdout).not.toContain("TOP-SECRET");
      const data = JSON.parse(out.stdout) as { fileErrors: unknown[] };
      expect(data.fileErrors).toEqual([
        {
          file: "nomad/linked.nomad.hcl",
          line: null,
          error:
            "is a symlink; not followed (the bot reads and edits regular files only: pin the file it points to)",
        },
      ]);
      expect((await lstat(path.join(repo.dir, "nomad/linked.nomad.hcl"))).isSymbolicLink()).toBe(true);
      expect(await readlink(path.join(repo.dir, "nomad/linked.nomad.hcl"))).toBe(outside);
    }
    // In the commit too, the link stays a link (mode 120000).
    expect(await repo.git("ls-tree", "deploy", "nomad/linked.nomad.hcl")).toMatch(/^120000 /);
  });

  it("[fault:file-modes] apply keeps each job file's mode (0600, 0444, 0755)", async () => {
    const repo = await builtRepo();
    const modes = { banana: 0o600, kiwi: 0o444, mango: 0o755 };
    for (const [name, mode] of Object.entries(modes))
      await chmod(path.join(repo.dir, `nomad/${name}.nomad.hcl`), mode);
    const out = await run(repo, "apply");
    expect(out.code).toBe(0);
    for (const [name, mode] of Object.entries(modes)) {
      expect(out.stdout).toContain(`wrote nomad/${name}.nomad.hcl`);
      expect((await stat(path.join(repo.dir, `nomad/${name}.nomad.hcl`))).mode & 0o7777).toBe(mode);
    }
  });
});

describe("smaller things", () => {
  it("[fault:pin-rerun] re-running the same pin changes nothing and warns about nothing", async () => {
    const repo = await builtRepo();
    const digest = `sha256:${"a".repeat(64)}`;
    const file = path.join(repo.dir, "nomad/kiwi.nomad.hcl");
    const argv = ["pin", "--set", `${registry.host}/acme/kiwi=${digest}`, file];
    const first = await run(repo, ...argv);
    expect(first.stderr).toMatch(/kiwi\.nomad\.hcl:\d+: .+ -> .+@sha256:a{64}\n$/);
    expect(first.code).toBe(0);
    const second = await run(repo, ...argv);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe("");
  });
});

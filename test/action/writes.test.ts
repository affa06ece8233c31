// The Action when a GitHub write fails or the workflow token lacks a permission: its entry
// (src/action/main.ts, run as a process the way the runner runs the bundle: INPUT_* variables, the
// runner's files) against the GitHub API stand-in, whose tokens are scoped like a workflow's
// `permissions:`, and a real registry. The committed bundle is rebuilt from these sources by the lead
// (dist-action/ is not rebuilt on a branch), so the sources are run here.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { type Level, workflowGrants } from "../helpers/github-api/permissions.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import {
  type FaultRepo,
  PR_BRANCH,
  WRITE_FAULTS,
  expectConsistent,
  faultRepo,
  shown,
} from "../helpers/write-faults.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsx = import.meta.resolve("tsx");
const BOT = "github-actions[bot]";
const ALL = { contents: "write", "pull-requests": "write", checks: "write", issues: "write" } as const;
/** One token per `permissions:` block: the full one, and each permission read-only in turn. */
const TOKENS: Record<string, Record<string, Level>> = {
  ghs_full: ALL,
  ghs_contents_read: { ...ALL, contents: "read" },
  "ghs_pull-requests_read": { ...ALL, "pull-requests": "read" },
  ghs_issues_read: { ...ALL, issues: "read" },
  ghs_checks_read: { ...ALL, checks: "read" },
};
let api: GitHubStandIn;
let registry: TestRegistry;
let work: string;
let runIds = 900;

beforeAll(async () => {
  [api, registry] = await Promise.all([
    startGitHubApi({
      tokens: Object.fromEntries(
        Object.entries(TOKENS).map(([token, p]) => [token, { login: BOT, permissions: workflowGrants(p) }]),
      ),
    }),
    startRegistry(),
  ]);
  work = mkdtempSync(path.join(os.tmpdir(), "ngb-action-writes-"));
});
afterAll(async () => {
  await Promise.all([api?.stop(), registry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  exitCode: number;
  stdout: string;
  summary: string;
}

async function runAction(repo: string, sha: string, token = "ghs_full"): Promise<Run> {
  const dir = mkdtempSync(path.join(work, "run-"));
  const summary = path.join(dir, "summary.md");
  const event = path.join(dir, "event.json");
  writeFileSync(summary, "");
  writeFileSync(path.join(dir, "output"), "");
  writeFileSync(event, JSON.stringify({ workflow_run: { head_sha: sha, head_branch: "main" } }));
  const result = await execa(process.execPath, ["--import", tsx, path.join(root, "src/action/main.ts")], {
    cwd: dir,
    extendEnv: false,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      INPUT_TOKEN: token,
      INPUT_CONFIG: ".github/nomad-gitops.yml",
      "INPUT_DRY-RUN": "false",
      GITHUB_REPOSITORY: repo,
      GITHUB_SHA: sha,
      GITHUB_RUN_ID: String(runIds++),
      GITHUB_RUN_ATTEMPT: "1",
      GITHUB_REF_NAME: "main",
      GITHUB_EVENT_NAME: "workflow_run",
      GITHUB_EVENT_PATH: event,
      GITHUB_API_URL: api.url,
      GITHUB_GRAPHQL_URL: `${api.url}/graphql`,
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_OUTPUT: path.join(dir, "output"),
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_WORKSPACE: dir,
      NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host,
    },
    reject: false,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, summary: readFileSync(summary, "utf8") };
}

const CONFIG = "release_notes: { github_release: draft }\npr: { labels: [deploy] }\n";
const writesTo = (repo: string) =>
  api
    .requests()
    .filter((r) => r.write && r.repo === repo && r.status < 400)
    .map((r) => r.route);

describe("the Action, when the workflow token lacks a permission", () => {
  it.each([
    ["contents", ""],
    ["pull-requests", ""],
    ["issues", "dashboard: true\n"],
  ])(
    "[fault:action-permission-missing] %s: read: the step fails naming the `permissions:` line, before anything is written",
    async (permission, extra) => {
      const setup = await faultRepo(api, registry.host, "perm", `action-${permission}`, `${CONFIG}${extra}`);
      const sha = await setup.build("web", "v2");
      api.clearRequests();
      const run = await runAction(setup.repo, sha, `ghs_${permission}_read`);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toContain(
        `::error title=nomad-gitops::the deploy run failed: the workflow's token lacks \`${permission}: write\``,
      );
      expect(run.stdout).toContain(`%0A  permissions:%0A    ${permission}: write%0A`);
      expect(run.summary).toContain(`  permissions:\n    ${permission}: write\n`);
      expect(run.summary).toContain(
        "Nothing was written to the repository: the permissions are checked before its first write (branch, PR, comment).",
      );
      // The check run (the run's own report) and nothing else: no tree, commit, branch, PR or comment.
      expect(writesTo(setup.repo)).toEqual([
        "POST /repos/:owner/:repo/check-runs",
        "PATCH /repos/:owner/:repo/check-runs/:id",
      ]);
      expect(api.repo(setup.repo).checkRuns[0]).toMatchObject({ status: "completed", conclusion: "failure" });
      expect(shown(api, setup.repo)).toEqual({ head: null, pr: null, comment: null });
    },
    90_000,
  );

  it("[fault:action-permission-missing] checks: read: the first write is refused, the message names `checks: write`", async () => {
    const setup = await faultRepo(api, registry.host, "perm", "action-checks", CONFIG);
    const sha = await setup.build("web", "v2");
    api.clearRequests();
    const run = await runAction(setup.repo, sha, "ghs_checks_read");
    expect(run.exitCode).toBe(1);
    expect(run.summary).toContain("(Resource not accessible by integration): the token lacks a permission");
    expect(run.summary).toContain("add `checks: write` under the job's `permissions:`");
    expect(run.summary).toContain("No write to the repository, the deploy PR or its comment was made");
    expect(writesTo(setup.repo)).toEqual([]);
    expect(api.repo(setup.repo).refs.has(`refs/heads/${PR_BRANCH}`)).toBe(false);
  }, 90_000);
});

describe("the Action, when one deploy write fails", () => {
  const repos = new Map<string, FaultRepo>();
  // The runs that open the deploy PR first, side by side (no fault is armed yet).
  beforeAll(async () => {
    await Promise.all(
      WRITE_FAULTS.map(async (fault, i) => {
        const setup = await faultRepo(api, registry.host, "aw", `shop${i}`, CONFIG);
        repos.set(fault.step, setup);
        if (!fault.open) return;
        const first = await runAction(setup.repo, await setup.build("web", "v2"));
        expect(first.exitCode, first.stdout).toBe(0);
        if (fault.step === "labels") api.repo(setup.repo).pulls[0]!.labels = [];
      }),
    );
  }, 180_000);

  it.each(WRITE_FAULTS)(
    "[fault:action-write-fails] $step fails: GitHub stays consistent and the step's summary says what was and was not written",
    async (fault) => {
      const setup = repos.get(fault.step)!;
      const before = shown(api, setup.repo);
      const sha = await setup.build("api", "v2");
      // 422: a refusal the client does not retry (a 502 would be retried and then succeed).
      api.failNext({ ...fault.rule, status: 422, message: "Validation Failed" });
      const run = await runAction(setup.repo, sha);
      api.clearLimits();
      expect(run.exitCode).toBe(1);
      expectConsistent(shown(api, setup.repo), before, fault, "api");
      const report = run.summary.replace(
        /GitHub answered 422 to (\S+ \S+): Validation Failed/g,
        "GitHub answered 502 to $1: Bad Gateway",
      );
      for (const line of fault.report) expect(report).toMatch(line);
      expect(run.summary).toMatch(/GitHub is consistent/);
      expect(run.summary).not.toMatch(/half-written|Nothing was left/);
      // The check run says the same as the step.
      const check = api.repo(setup.repo).checkRuns.find((c) => c.headSha === sha)!;
      expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
      const checkReport = (check.output.summary ?? "").replace(
        /GitHub answered 422 to (\S+ \S+): Validation Failed/g,
        "GitHub answered 502 to $1: Bad Gateway",
      );
      for (const line of fault.report) expect(checkReport).toMatch(line);
    },
    90_000,
  );
});

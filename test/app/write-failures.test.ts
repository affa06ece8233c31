// The App's deploy when a GitHub write fails, each in turn, against the GitHub API stand-in (real commits,
// trees and refs; an installation token scoped like the installation) and a real registry: GitHub ends
// consistent (the open PR's text and comment describe what its branch holds), and the check run's report
// says what was written, what failed, what was put back and what was never tried. A missing permission
// is named before anything is written.
import { Writable } from "node:stream";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nomadGitops } from "../../src/app.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { type GitHubStandIn, startGitHubApi, workflowRunPayload } from "../helpers/github-api/index.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import {
  CHECK_FAULT,
  WRITE_FAULTS,
  expectConsistent,
  faultRepo,
  PR_BRANCH,
  shown,
} from "../helpers/write-faults.js";
import { testPrivateKey } from "./harness.js";

let api: GitHubStandIn;
let registry: TestRegistry;
let probot: Probot;
let runIds = 500;

beforeAll(async () => {
  [api, registry] = await Promise.all([startGitHubApi(), startRegistry()]);
  probot = new Probot({
    appId: api.appId,
    privateKey: testPrivateKey(),
    secret: "write-failures",
    baseUrl: api.url,
    Octokit: ProbotOctokit.defaults((instance: Record<string, unknown>) => ({
      ...instance,
      retry: { enabled: false },
      throttle: { ...(instance.throttle as object | undefined), enabled: false },
    })),
    log: pino({ level: "silent" }, new Writable({ write: (_c, _e, done) => done() })),
  });
  const client = createRegistryClient({
    env: { NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host },
    maxAttempts: 1,
  });
  await probot.load(nomadGitops({ registry: client }));
});
afterAll(async () => {
  await Promise.all([api?.stop(), registry?.stop()]);
});

const CONFIG =
  "build: { workflow: images.yml }\nrelease_notes: { github_release: draft }\npr: { labels: [deploy] }\n";

/** The build of `sha` finished: the App's deploy runs (an error is what the delivery's handler threw). */
async function built(repo: string, sha: string): Promise<Error | null> {
  const id = runIds++;
  return probot
    .receive({
      id: `wr-${id}`,
      name: "workflow_run",
      payload: workflowRunPayload(api, repo, { sha, branch: "main", runId: id }) as never,
    })
    .then(() => null)
    .catch((error: unknown) => {
      // Probot gathers the handlers' errors.
      const first = error instanceof AggregateError ? (error.errors[0] as unknown) : error;
      return first instanceof Error ? first : new Error(String(first));
    });
}

const checkOf = (repo: string, sha: string) => api.repo(repo).checkRuns.find((c) => c.headSha === sha)!;
const writes = (repo: string) =>
  api
    .requests()
    .filter((r) => r.write && r.repo === repo && r.status < 400)
    .map((r) => r.route);

describe("the App, when one deploy write fails", () => {
  let n = 0;
  it.each(WRITE_FAULTS)(
    "[fault:app-write-fails] $step fails: GitHub stays consistent and the check run says what was and was not written",
    async (fault) => {
      const setup = await faultRepo(api, registry.host, `wf${n}`, `shop${n++}`, CONFIG);
      if (fault.open) {
        expect(await built(setup.repo, await setup.build("web", "v2"))).toBeNull();
        // A person took the label off: this run adds it back (so the labels write happens).
        if (fault.step === "labels") api.repo(setup.repo).pulls[0]!.labels = [];
      }
      const before = shown(api, setup.repo);
      const sha = await setup.build("api", "v2");
      api.failNext(fault.rule);
      const error = await built(setup.repo, sha);
      api.clearLimits();
      expect(error?.name).toBe("DeployFailedError");
      expectConsistent(shown(api, setup.repo), before, fault, "api");
      const check = checkOf(setup.repo, sha);
      expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
      const summary = check.output.summary ?? "";
      for (const line of fault.report) expect(summary).toMatch(line);
      expect(summary).toMatch(/GitHub is consistent/);
      expect(summary).not.toMatch(/half-written|Nothing was left/);
      // The step's own log says the same as the check run.
      for (const line of fault.report) expect(error!.message).toMatch(line);
    },
    60_000,
  );

  it("[fault:app-write-fails] the PR update fails and so does putting the branch back: the report says exactly what is inconsistent", async () => {
    const setup = await faultRepo(api, registry.host, "wfr", "revert", CONFIG);
    expect(await built(setup.repo, await setup.build("web", "v2"))).toBeNull();
    const before = shown(api, setup.repo);
    const sha = await setup.build("api", "v2");
    let mutations = 0;
    api.failNext({
      kind: "error",
      status: 502,
      message: "Bad Gateway",
      match: (r) => r.method === "PATCH" && /\/pulls\/\d+$/.test(r.path),
    });
    // The second ref mutation is the one that would put the branch back.
    api.failNext({
      kind: "error",
      status: 502,
      message: "Bad Gateway",
      match: (r) => r.path === "/graphql" && r.write && ++mutations === 2,
    });
    const error = await built(setup.repo, sha);
    api.clearLimits();
    const now = shown(api, setup.repo);
    expect(now.head).not.toBe(before.head);
    expect(now.pr).toEqual(before.pr);
    const summary = checkOf(setup.repo, sha).output.summary ?? "";
    expect(summary).toMatch(
      /- branch `nomad-gitops\/deploy` moved back to `[0-9a-f]{7}`: \*\*could not be put back\*\*/,
    );
    expect(summary).toContain(
      "GitHub is NOT consistent: branch `nomad-gitops/deploy` holds this deploy's changes, but PR #1's title and body describe another.",
    );
    expect(error!.message).toContain("GitHub is NOT consistent");
  }, 60_000);

  it("[fault:app-write-fails] the check run's completion fails: everything else was written, and the error carries the report", async () => {
    const setup = await faultRepo(api, registry.host, "wfc", "checkfail", CONFIG);
    const sha = await setup.build("web", "v2");
    api.failNext(CHECK_FAULT);
    const error = await built(setup.repo, sha);
    api.clearLimits();
    expect(error!.message).toMatch(
      /GitHub answered 502 to PATCH \/repos\/wfc\/checkfail\/check-runs\/\d+: Bad Gateway/,
    );
    for (const line of [
      /- the deploy PR|PR #\d+ opened: written/,
      /- the sticky comment: written/,
      /- the labels: written/,
      /- the release draft: written/,
    ])
      expect(error!.message).toMatch(line);
    expect(shown(api, setup.repo).pr?.title).toContain("web");
    expect(checkOf(setup.repo, sha).status).toBe("in_progress");
  }, 60_000);
});

describe("the App, when its installation lacks a permission", () => {
  it.each([
    ["contents", "Contents: Read and write", ""],
    ["pull_requests", "Pull requests: Read and write", ""],
    ["issues", "Issues: Read and write", "dashboard: true\n"],
  ])(
    "[fault:app-permission-missing] %s: read only: the check run names the permission and nothing is written",
    async (permission, setting, extra) => {
      const owner = `perm-${permission}`;
      const setup = await faultRepo(api, registry.host, owner, "shop", `${CONFIG}${extra}`);
      api.setInstallationPermissions(owner, {
        metadata: "read",
        contents: "write",
        pull_requests: "write",
        checks: "write",
        issues: "write",
        [permission]: "read",
      });
      const sha = await setup.build("web", "v2");
      api.clearRequests();
      const error = await built(setup.repo, sha);
      expect(error?.message).toContain(`"${setting}"`);
      const check = checkOf(setup.repo, sha);
      expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
      expect(check.output.title).toBe("The token lacks a permission: nothing was written");
      expect(check.output.summary).toContain(`the App's installation lacks \`${permission}: write\``);
      expect(check.output.summary).toContain(`Grant "${setting}"`);
      // Only the check run, its own report: no tree, commit, branch, PR, comment or issue.
      expect(writes(setup.repo)).toEqual([
        "POST /repos/:owner/:repo/check-runs",
        "PATCH /repos/:owner/:repo/check-runs/:id",
      ]);
      expect(shown(api, setup.repo)).toEqual({ head: null, pr: null, comment: null });
      expect(api.repo(setup.repo).refs.has(`refs/heads/${PR_BRANCH}`)).toBe(false);
    },
    60_000,
  );

  it("[fault:app-permission-missing] checks: read: the first write is refused and the error names the permission", async () => {
    const owner = "perm-checks";
    const setup = await faultRepo(api, registry.host, owner, "shop", CONFIG);
    api.setInstallationPermissions(owner, {
      metadata: "read",
      contents: "write",
      pull_requests: "write",
      checks: "read",
    });
    const sha = await setup.build("web", "v2");
    api.clearRequests();
    const error = await built(setup.repo, sha);
    expect(error?.message).toContain(
      "GitHub refused POST /repos/perm-checks/shop/check-runs (Resource not accessible by integration)",
    );
    expect(error?.message).toContain("add `checks: write` under the job's `permissions:`");
    expect(error?.message).toContain('grant "Checks: Read and write"');
    expect(error?.message).toContain("No write to the repository, the deploy PR or its comment was made");
    expect(writes(setup.repo)).toEqual([]);
  }, 60_000);
});

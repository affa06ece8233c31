// The Action in a workflow the merge queue started: the trial merge is never planned, committed or
// deployed, and its commit gets a completed `nomad-gitops` run (a required check then lets the group
// through). Driven through the Action's own run (src/action/run.ts) with the runner's environment, against
// the GitHub API stand-in with a workflow token in the stateless format.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeQueueCommit } from "../../src/action/merge-queue.js";
import { runAction } from "../../src/action/run.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { statelessToken } from "../helpers/tokens.js";

const TOKEN = statelessToken(1717);
const QUEUE = `gh-readonly-queue/main/pr-7-${"e".repeat(40)}`;
let api: GitHubStandIn;
let work: string;

beforeAll(async () => {
  api = await startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } });
  work = mkdtempSync(path.join(os.tmpdir(), "ngb-action-queue-"));
});
afterAll(async () => {
  await api?.stop();
  rmSync(work, { recursive: true, force: true });
});

function env(repoName: string, event: string, payload: object, extra: Record<string, string> = {}) {
  const file = path.join(work, `${event}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(payload));
  return {
    INPUT_TOKEN: TOKEN,
    GITHUB_API_URL: api.url,
    GITHUB_REPOSITORY: repoName,
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: file,
    GITHUB_RUN_ID: "55",
    GITHUB_RUN_ATTEMPT: "1",
    ...extra,
  };
}

const log = { info: () => {}, warn: () => {} };

function queueRepo(name: string) {
  const repoName = `acme/${name}`;
  api.createRepo({
    owner: "acme",
    name,
    files: {
      ".github/nomad-gitops.yml": "registry: registry.test/acme\n",
      "nomad/web.nomad.hcl": 'job "web" {}\n',
    },
  });
  const sha = api.pushCommit(repoName, QUEUE, { "services/web/main.go": "package main\n" }, "Merge #7");
  return { repoName, sha };
}

describe("the Action in the merge queue", () => {
  it("[fault:action-merge-queue] on merge_group: a completed success nomad-gitops run on the group's head and nothing else written; outputs say merge-queue", async () => {
    const { repoName, sha } = queueRepo("queue-group");
    api.clearRequests();
    const outcome = await runAction(
      env(repoName, "merge_group", {
        action: "checks_requested",
        merge_group: { head_sha: sha, head_ref: `refs/heads/${QUEUE}`, base_ref: "refs/heads/main" },
      }),
      log,
    );
    expect(outcome.exitCode).toBe(0);
    expect(JSON.parse(outcome.outputs["plan-json"]!)).toEqual({ outcome: "merge-queue", sha, branch: QUEUE });
    expect(outcome.outputs["pr-number"]).toBe("");
    expect(outcome.summary).toContain("nothing was planned, committed or deployed from it");
    const runs = api.repo(repoName).checkRuns;
    expect(runs.map((r) => [r.name, r.headSha, r.status, r.conclusion, r.output.title])).toEqual([
      ["nomad-gitops", sha, "completed", "success", "Merge-queue commit: nothing deployed from it"],
    ]);
    expect(
      api
        .requests()
        .filter((r) => r.write)
        .map((r) => r.route),
    ).toEqual(["POST /repos/:owner/:repo/check-runs"]);
    expect(api.repo(repoName).pulls).toHaveLength(0);
  });

  it("on a push to the queue's branch: nothing planned or deployed, even with branch and sha inputs given", async () => {
    const { repoName, sha } = queueRepo("queue-push");
    api.clearRequests();
    const outcome = await runAction(
      env(
        repoName,
        "push",
        { ref: `refs/heads/${QUEUE}`, after: sha },
        { GITHUB_SHA: sha, GITHUB_REF_NAME: QUEUE, INPUT_BRANCH: "main", INPUT_SHA: sha },
      ),
      log,
    );
    expect(JSON.parse(outcome.outputs["plan-json"]!).outcome).toBe("merge-queue");
    expect(
      api
        .requests()
        .filter((r) => r.write)
        .map((r) => r.route),
    ).toEqual(["POST /repos/:owner/:repo/check-runs"]);
    // A workflow_run of the queue's build is the queue's too.
    expect(
      await mergeQueueCommit(
        env(repoName, "workflow_run", {
          workflow_run: { event: "merge_group", head_sha: sha, head_branch: QUEUE },
        }),
      ),
    ).toEqual({ sha, branch: QUEUE });
  });

  it("a run for the base branch is not the queue's", async () => {
    const sha = "f".repeat(40);
    expect(
      await mergeQueueCommit(
        env(
          "acme/x",
          "push",
          { ref: "refs/heads/main", after: sha },
          { GITHUB_SHA: sha, GITHUB_REF_NAME: "main" },
        ),
      ),
    ).toBeNull();
    expect(
      await mergeQueueCommit(
        env("acme/x", "workflow_run", {
          workflow_run: { event: "push", head_sha: sha, head_branch: "main" },
        }),
      ),
    ).toBeNull();
  });
});

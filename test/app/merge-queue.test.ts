// GitHub's merge queue: its trial merges (`gh-readonly-queue/<base>/…`) are never built or deployed, and
// `merge_group.checks_requested` gets a completed `nomad-gitops` run on the group's head commit, so a
// required `nomad-gitops` check does not stall the queue.
import { readFileSync } from "node:fs";
import nock from "nock";
import { parse } from "yaml";
import { z } from "zod";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mergeQueueBase } from "../../src/handlers/merge-group.js";
import {
  checkRunRerequested,
  mergeGroupEvent,
  pushEvent,
  workflowRunEvent,
} from "../fixtures/github/payloads.js";
import { R, mockCheckList, mockConfig } from "./github-mocks.js";
import {
  type TestProbot,
  github,
  mockInstallationToken,
  takeRequests,
  startTestApp,
  expectGitHubDone,
} from "./harness.js";

const SHA = "c".repeat(40);
const QUEUE_BRANCH = `gh-readonly-queue/main/pr-12-${"1".repeat(40)}`;
const CONFIG = `registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml, trigger: dispatch }\n`;

let t: TestProbot;
const unmatched: string[] = [];
const onNoMatch = (req: { method?: string; path?: string }) => unmatched.push(`${req.method} ${req.path}`);
beforeEach(async () => {
  unmatched.length = 0;
  nock.emitter.on("no match", onNoMatch);
  t = await startTestApp();
});
afterEach(() => {
  nock.emitter.removeListener("no match", onNoMatch);
  expectGitHubDone(t);
  expect(unmatched).toEqual([]);
});

const success = (summaryTail: string) => ({
  name: "nomad-gitops",
  head_sha: SHA,
  status: "completed",
  conclusion: "success",
  output: {
    title: "Merge-queue commit: nothing deployed from it",
    summary: `This commit is the merge queue's trial merge into \`main\` (\`${QUEUE_BRANCH}\`). nomad-gitops builds, pins and deploys nothing from a merge-queue commit; \`.github/nomad-gitops.yml\` at this commit is valid.\n\n${summaryTail}`,
  },
});

describe("merge queue", () => {
  it("[fault:app-merge-queue-check] merge_group.checks_requested: a completed success run named nomad-gitops on the group's head, saying nothing is deployed from it; a redelivery writes nothing", async () => {
    mockInstallationToken();
    mockConfig(CONFIG, SHA);
    mockCheckList(SHA, []);
    const body = success("Once the group merges, the push to `main` is deployed as usual.");
    github().post(`${R}/check-runs`, body).reply(201, { id: 501, status: "completed" });
    await t.probot.receive(mergeGroupEvent({ sha: SHA }));
    expect(takeRequests()).toEqual([
      `GET ${R}/contents/.github%2Fnomad-gitops.yml?ref=${SHA}`,
      `GET ${R}/commits/${SHA}/check-runs?check_name=nomad-gitops&filter=all&per_page=100`,
      `POST ${R}/check-runs`,
    ]);

    // Redelivered: the run on the commit already says exactly this.
    mockConfig(CONFIG, SHA);
    mockCheckList(SHA, [{ id: 501, status: "completed", conclusion: "success", output: body.output }]);
    await t.probot.receive(mergeGroupEvent({ sha: SHA }));
    expect(takeRequests().filter((r) => !r.startsWith("GET "))).toEqual([]);
  });

  it("a group into a branch that does not deploy says so; an invalid config at the group's head fails the check", async () => {
    mockInstallationToken();
    mockConfig(`${CONFIG}branches: [release]\n`, SHA);
    mockCheckList(SHA, []);
    github()
      .post(
        `${R}/check-runs`,
        success("`main` is not a deploy branch (deploy branches: `release`): merging it deploys nothing."),
      )
      .reply(201, { id: 502, status: "completed" });
    await t.probot.receive(mergeGroupEvent({ sha: SHA }));

    const broken = "d".repeat(40);
    mockConfig("registry: ghcr.io/acme/platform\npin: sideways\n", broken);
    mockCheckList(broken, []);
    let created: { conclusion?: string; head_sha?: string; output?: { summary?: string } } = {};
    github()
      .post(`${R}/check-runs`, (b: typeof created) => ((created = b), true))
      .reply(201, { id: 503, status: "completed" });
    await t.probot.receive(mergeGroupEvent({ sha: broken }));
    expect([created.conclusion, created.head_sha]).toEqual(["failure", broken]);
    expect(created.output?.summary).toContain("pin");
  });

  it("[fault:app-merge-queue-push] a push to the queue's branch and its build's workflow_run are never built or deployed: no request at all (the config is not even read, so no `branches` entry can make one deploy)", async () => {
    // Nothing is mocked: any request (the config read included) would be unmatched.
    await t.probot.receive(pushEvent({ ref: `refs/heads/${QUEUE_BRANCH}`, after: SHA }));
    await t.probot.receive(workflowRunEvent({ headSha: SHA, branch: QUEUE_BRANCH, conclusion: "success" }));
    expect(takeRequests()).toEqual([]);
    expect(unmatched).toEqual([]);
  });

  it("[fault:app-merge-queue-rerun] Re-run on a queue commit's run recomputes the merge-group check (an earlier failure is replaced); nothing is built or deployed", async () => {
    mockInstallationToken();
    mockConfig(CONFIG, SHA);
    // The first delivery failed on a GitHub outage: the run on the commit says so.
    mockCheckList(SHA, [
      {
        id: 499,
        status: "completed",
        conclusion: "failure",
        output: { title: "nomad-gitops could not finish", summary: "GitHub answered 502" },
      },
    ]);
    github()
      .post(`${R}/check-runs`, success("Once the group merges, the push to `main` is deployed as usual."))
      .reply(201, { id: 504, status: "completed" });
    await t.probot.receive(checkRunRerequested({ headSha: SHA, branch: QUEUE_BRANCH }));
    expect(takeRequests()).toEqual([
      `GET ${R}/contents/.github%2Fnomad-gitops.yml?ref=${SHA}`,
      `GET ${R}/commits/${SHA}/check-runs?check_name=nomad-gitops&filter=all&per_page=100`,
      `POST ${R}/check-runs`,
    ]);
  });

  it("the base branch is read from the queue branch's name, slashes included", () => {
    expect(mergeQueueBase(QUEUE_BRANCH)).toBe("main");
    expect(mergeQueueBase(`refs/heads/gh-readonly-queue/release/2026.12/pr-7-${"a".repeat(40)}`)).toBe(
      "release/2026.12",
    );
    expect(mergeQueueBase("gh-readonly-queue/main")).toBeNull();
    expect(mergeQueueBase("main")).toBeNull();
  });

  it("app.yml subscribes to merge_group with the permission GitHub asks for it (merge queues: read)", () => {
    const manifest = z
      .looseObject({
        default_events: z.array(z.string()),
        default_permissions: z.record(z.string(), z.string()),
      })
      .parse(parse(readFileSync(new URL("../../app.yml", import.meta.url), "utf8")));
    expect(manifest.default_events).toContain("merge_group");
    expect(manifest.default_permissions.merge_queues).toBe("read");
    expect(manifest.default_permissions.checks).toBe("write");
  });
});

// Nomad awareness in the App: the plan preview in the sticky comment, drift in the check run, GitHub
// Deployments after the deploy PR merges. Real registry, real Nomad stand-in on 127.0.0.1, GitHub via nock.
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pullRequestEvent, workflowRunEvent } from "../fixtures/github/payloads.js";
import { type NomadStandIn, startNomad } from "../helpers/nomad.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { type FakeScheduler, fakeScheduler } from "../helpers/scheduler.js";
import { R, capture, mockConfig, mockReadTexts } from "./github-mocks.js";
import {
  type TestProbot,
  github,
  mockInstallationToken,
  takeRequests,
  startTestApp,
  expectGitHubDone,
} from "./harness.js";
import {
  S1,
  S2,
  configText,
  image,
  jobFile,
  mockPlanningReads,
  pushImages,
  mockBananaMoveReads,
  mockNewBranchWrites,
} from "./scenario.js";

const SERVICES = ["apple", "banana"];
const TOKEN = "nomad-acl-token-for-tests-0123456789";
const MERGE = "9999999999999999999999999999999999999999";
let registry: TestRegistry;
let host: string;
let digests: Record<string, string>;
let nomad: NomadStandIn;
let t: TestProbot;
let scheduler: FakeScheduler;
/** GitHub requests nock had no interceptor for (a duplicate status would land here). */
let unmatched: string[];
const onNoMatch = (req: { method?: string; path?: string; host?: string; hostname?: string }) => {
  // Requests to the stand-in pass through (enableNetConnect) but are reported as "no match" too.
  if (!String(req.hostname ?? req.host ?? "").startsWith("127.0.0.1"))
    unmatched.push(`${req.method} ${req.path}`);
};

beforeAll(async () => {
  registry = await startRegistry();
  host = registry.host;
  digests = await pushImages(registry, [
    ["apple", S1, image("apple", 1)],
    ["apple", S2, image("apple", 1)],
    ["banana", S1, image("banana", 1)],
    ["banana", S2, image("banana", 2)],
  ]);
});
afterAll(async () => {
  await registry?.stop();
});
beforeEach(async () => {
  scheduler = fakeScheduler();
  unmatched = [];
  nock.emitter.on("no match", onNoMatch);
  t = await startTestApp({
    registry: host,
    deps: { nomadEnv: { NOMAD_TOKEN: TOKEN }, rolloutScheduler: scheduler },
  });
});
afterEach(async () => {
  await scheduler.idle();
  nock.emitter.removeListener("no match", onNoMatch);
  expect(unmatched).toEqual([]);
  await nomad?.stop();
  expectGitHubDone(t);
  expect(t.logs()).not.toContain(TOKEN);
});

/** The one look at the deployments the bot already made for the merge commit in `environment`. */
const mockExisting = (environment: string, deployments: unknown[] = []) =>
  github().get(`${R}/deployments`).query({ sha: MERGE, environment, per_page: 100 }).reply(200, deployments);

const pinned = (s: string) => `${host}/acme/${s}:${S1}@${digests[`${s}:${S1}`]}`;
const stable = (value: unknown) =>
  JSON.parse(
    JSON.stringify(value).split(nomad.address).join("NOMAD").split(host).join("REGISTRY"),
  ) as unknown;

describe("deploy run with nomad.address", () => {
  it("adds the plan of the rewritten job to the sticky comment and drift to the check run", async () => {
    // The cluster runs banana as git pins it, apple at another digest (someone deployed by hand).
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: pinned("banana"), apple: `${host}/acme/apple@sha256:${"a".repeat(64)}` },
    });
    const files: Record<string, string> = { "RELEASES.md": "# Releases\n" };
    for (const s of SERVICES)
      files[`nomad/${s}.nomad.hcl`] = jobFile(host, s, `${S1}@${digests[`${s}:${S1}`]}`);
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES, `nomad: { address: "${nomad.address}" }`),
      files,
    });
    mockBananaMoveReads();
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);

    await t.probot.receive(workflowRunEvent({ headSha: S2, conclusion: "success", branch: "main" }));

    const [, , pull, comment, check] = bodies as Array<Record<string, unknown>>;
    // The preview's job modify index rides to the merge, hidden in the PR body (check-and-set submit).
    expect(String(pull!.body)).toMatch(/\n<!-- nomad-gitops:plan-index banana=19 -->\n$/);
    const body = String(comment!.body);
    const nomadPart = stable(body.slice(body.indexOf("#### Nomad plan")));
    expect(nomadPart).toMatchInlineSnapshot(`
      "#### Nomad plan (\`NOMAD\`)

      <details><summary>\`banana\` (\`nomad/banana.nomad.hcl\`): 2 allocations replaced</summary>

      | group | create | destroy | in-place | destructive | canary | ignore |
      |---|---|---|---|---|---|---|
      | app | 0 | 0 | 0 | 2 | 0 | 0 |

      Changed fields:

      - \`app/server\` \`Config.image\`: \`REGISTRY/acme/banana:1111111111111111111111111111111111111111@sha256:921d74d76d1583c7dcb6fded1f22d78ca8d1c517aa9533fac35a19a20b0ab26d\` → \`REGISTRY/acme/banana@sha256:09528fbbc77fce8816d4871b9ac1c5ff14bd988cb0cf36f522b0344c2ce91928\`

      </details>
      "
    `);
    const summary = String((check!.output as Record<string, unknown>).summary);
    expect(stable(summary.slice(summary.indexOf("### Cluster drift")))).toMatchInlineSnapshot(`
      "### Cluster drift (\`NOMAD\`)

      1 image site differs from what git pins (1 match).

      | service | job | task | git pins | cluster runs | status |
      |---|---|---|---|---|---|
      | apple | \`apple\` | \`app/server\` | \`4ece9cd48882\` | \`aaaaaaaaaaaa\` | **drift** |

      Deploy PR: #12 (1 image).
      "
    `);
    expect(nomad.requests().every((r) => r.authorized)).toBe(true);
    expect(
      nomad
        .requests()
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual([
      "GET /v1/job/apple?namespace=default",
      "GET /v1/job/banana?namespace=default",
      "POST /v1/job/banana/plan?namespace=default",
      "POST /v1/jobs/parse?namespace=default",
    ]);
  });
});

describe("merged deploy PR with nomad.address", () => {
  it("creates a GitHub deployment for the moved service with the status Nomad reports now", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: pinned("banana") },
      rollout: { banana: "running" },
    });
    const text = jobFile(host, "banana", `${S1}@${digests[`banana:${S1}`]}`);
    mockInstallationToken();
    // follow_minutes 0: the state at merge time only, no follow-up.
    mockConfig(
      configText(
        host,
        SERVICES,
        `nomad: { address: "${nomad.address}", environment: staging, follow_minutes: 0 }`,
      ),
    );
    github()
      .get(`${R}/git/ref/heads%2Fnomad-gitops%2Fdeploy`)
      .reply(200, { ref: "refs/heads/nomad-gitops/deploy", object: { sha: S2, type: "commit" } });
    github().delete(`${R}/git/refs/heads%2Fnomad-gitops%2Fdeploy`).reply(204);
    github()
      .get(`${R}/pulls/12/files`)
      .query({ per_page: 100 })
      .reply(200, [
        { filename: "nomad/banana.nomad.hcl", status: "modified" },
        { filename: "RELEASES.md", status: "modified" },
      ]);
    mockReadTexts(MERGE, [["nomad/banana.nomad.hcl", text]]);
    mockExisting("staging");
    const bodies: unknown[] = [];
    capture("post", `${R}/deployments`, bodies, { status: 201, body: { id: 4242 } });
    capture("post", `${R}/deployments/4242/statuses`, bodies, { status: 201, body: { id: 1 } });

    const event = pullRequestEvent({
      action: "closed",
      number: 12,
      head: "nomad-gitops/deploy",
      headSha: S2,
      merged: true,
    });
    (event.payload as { pull_request: { merge_commit_sha: string } }).pull_request.merge_commit_sha = MERGE;
    await t.probot.receive(event);

    expect(stable(bodies)).toMatchInlineSnapshot(`
      [
        {
          "auto_merge": false,
          "description": "banana sha256:921d74d76d15",
          "environment": "staging",
          "payload": {
            "digest": "sha256:921d74d76d1583c7dcb6fded1f22d78ca8d1c517aa9533fac35a19a20b0ab26d",
            "job": "banana",
            "namespace": "default",
            "service": "banana",
            "targets": [
              {
                "digest": "sha256:921d74d76d1583c7dcb6fded1f22d78ca8d1c517aa9533fac35a19a20b0ab26d",
                "file": "nomad/banana.nomad.hcl",
                "job": "banana",
                "service": "banana",
              },
            ],
          },
          "ref": "9999999999999999999999999999999999999999",
          "required_contexts": [],
        },
        {
          "auto_inactive": false,
          "description": "v4: Deployment is running (0/2 healthy)",
          "state": "in_progress",
        },
      ]
    `);
  });
});

describe("rollout follow-up after the merge", () => {
  const merged = () => {
    const event = pullRequestEvent({
      action: "closed",
      number: 12,
      head: "nomad-gitops/deploy",
      headSha: S2,
      merged: true,
    });
    (event.payload as { pull_request: { merge_commit_sha: string } }).pull_request.merge_commit_sha = MERGE;
    return event;
  };
  const payload = (submitIndex?: number) => ({
    service: "banana",
    job: "banana",
    namespace: "default",
    digest: digests[`banana:${S1}`]!,
    // What any replica needs to resume following it (the file at the merge commit, the submit's index).
    targets: [
      {
        service: "banana",
        job: "banana",
        file: "nomad/banana.nomad.hcl",
        digest: digests[`banana:${S1}`]!,
        ...(submitIndex !== undefined ? { submit_index: submitIndex } : {}),
      },
    ],
  });
  /** The reads of a merged deploy PR; `existing`: what listing the merge's deployments answers. */
  const mergeReads = (nomadConfig: string, existing: unknown[] = [], branch: 204 | 422 = 204) => {
    const digest = digests[`banana:${S1}`]!;
    mockConfig(configText(host, SERVICES, `nomad: { address: "${nomad.address}"${nomadConfig} }`));
    // The branch still at the PR's head (first delivery), or already deleted (a redelivery: no DELETE).
    if (branch === 204) {
      github()
        .get(`${R}/git/ref/heads%2Fnomad-gitops%2Fdeploy`)
        .reply(200, { ref: "refs/heads/nomad-gitops/deploy", object: { sha: S2, type: "commit" } });
      github().delete(`${R}/git/refs/heads%2Fnomad-gitops%2Fdeploy`).reply(204);
    } else github().get(`${R}/git/ref/heads%2Fnomad-gitops%2Fdeploy`).reply(404, { message: "Not Found" });
    github()
      .get(`${R}/pulls/12/files`)
      .query({ per_page: 100 })
      .reply(200, [{ filename: "nomad/banana.nomad.hcl", status: "modified" }]);
    mockReadTexts(MERGE, [["nomad/banana.nomad.hcl", jobFile(host, "banana", `${S1}@${digest}`)]]);
    mockExisting("production", existing);
  };
  /** The reads of a merged deploy PR and the one deployment it creates (id 4243). */
  const mergeMocks = (nomadConfig: string, submitIndex?: number) => {
    const digest = digests[`banana:${S1}`]!;
    mockInstallationToken();
    mergeReads(nomadConfig);
    github()
      .post(`${R}/deployments`, {
        ref: MERGE,
        environment: "production",
        description: `banana ${digest.slice(0, 19)}`,
        payload: payload(submitIndex),
        auto_merge: false,
        required_contexts: [],
      })
      .reply(201, { id: 4243 });
  };
  const expectStatus = (state: string, description: string) =>
    github()
      .post(`${R}/deployments/4243/statuses`, { state, description, auto_inactive: false })
      .reply(201, { id: 1 });
  /** A follow-up's status: the newest one is read first (GitHub's statuses are the follow-up's state). */
  const expectFollowStatus = (state: string, description: string, previous: [string, string]) => {
    github()
      .get(`${R}/deployments/4243/statuses`)
      .query({ per_page: 1 })
      .reply(200, [{ id: 1, state: previous[0], description: previous[1] }]);
    expectStatus(state, description);
  };
  const RUNNING: [string, string] = ["in_progress", "v4: Deployment is running (0/2 healthy)"];
  const deploymentReads = () =>
    nomad.requests().filter((r) => r.path === "/v1/job/banana/deployment?namespace=default").length;

  it("posts in_progress at merge, then success once, after the handler returned", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: pinned("banana") },
      progress: { banana: ["running", "running", "successful"] },
    });
    mergeMocks("");
    expectStatus("in_progress", "v4: Deployment is running (0/2 healthy)");
    expectFollowStatus("success", "v4: Deployment completed successfully (2/2 healthy)", RUNNING);

    await t.probot.receive(merged());
    // The handler is done; the follow-up has not looked at the cluster yet.
    expect(deploymentReads()).toBe(1);
    expect(nock.pendingMocks()).toHaveLength(2);

    await scheduler.idle();
    // Look 2 still running (no second in_progress), look 3 successful: 5 s then 10 s.
    expect(scheduler.sleeps()).toEqual([5_000, 10_000]);
    expect(deploymentReads()).toBe(3);
    expect(nomad.requests().every((r) => r.authorized)).toBe(true);
    expect(t.logs()).toContain("rollout follow-up finished");
  });

  it("posts progress within in_progress (0/2 → 1/2 healthy) as it happens, once each", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: pinned("banana") },
      progress: { banana: ["running", "halfway", "halfway", "successful"] },
    });
    mergeMocks("");
    expectStatus("in_progress", "v4: Deployment is running (0/2 healthy)");
    const half = "v4: Deployment is running (1/2 healthy)";
    expectFollowStatus("in_progress", half, RUNNING);
    expectFollowStatus("success", "v4: Deployment completed successfully (2/2 healthy)", [
      "in_progress",
      half,
    ]);
    await t.probot.receive(merged());
    await scheduler.idle();
    expect(deploymentReads()).toBe(4);
  });

  it("re-checks a submitted job whose deployment Nomad has not made yet without reading the job back", async () => {
    nomad = await startNomad({
      token: TOKEN,
      // An older image: the merge's submit changes the job, and Nomad is slow to make its deployment.
      running: { banana: `${host}/acme/banana@sha256:${"b".repeat(64)}` },
      progress: { banana: ["none", "none", "successful"] },
    });
    mergeMocks(", submit: true, follow_minutes: 1", 34);
    const none = "no Nomad deployment for this job yet";
    expectStatus("queued", none);
    expectFollowStatus("success", "v4: Deployment completed successfully (2/2 healthy)", ["queued", none]);
    await t.probot.receive(merged());
    await scheduler.idle();
    expect(scheduler.sleeps()).toEqual([5_000, 10_000]);
    // The job is at hand from its submit: its type (a service job, rolled out by a deployment) is read
    // from it at merge and at each re-check alike. Was: one GET /v1/job/banana per re-check without one.
    expect(nomad.requests().map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual([
      "POST /v1/jobs/parse",
      "POST /v1/job/banana/plan",
      "POST /v1/jobs",
      ...Array(3).fill("GET /v1/job/banana/deployment"),
    ]);
  });

  it("a redelivered merge event finds its deployment: nothing created, posted, submitted or followed", async () => {
    nomad = await startNomad({
      token: TOKEN,
      // An older image: the merge's submit changes the job (Nomad keeps an unchanged one as it is).
      running: { banana: `${host}/acme/banana@sha256:${"b".repeat(64)}` },
      progress: { banana: ["running"] },
    });
    // submit: true, so a resubmission would show up in the stand-in's requests. Still running at the
    // redelivery: a second follow-up would start (and post) if the redelivery did not leave it alone.
    const nomadConfig = ", submit: true, follow_minutes: 1";
    mergeMocks(nomadConfig, 34);
    expectStatus("in_progress", "v4: Deployment is running (0/2 healthy)");
    expectFollowStatus("error", "still rolling out after 1 min; see `nomad job status banana`", RUNNING);
    await t.probot.receive(merged());
    await scheduler.idle();
    const sleeps = [5_000, 10_000, 20_000, 25_000];
    expect(scheduler.sleeps()).toEqual(sleeps);
    // The first delivery: one submit, then only the deployment is looked at (at merge, then each re-check);
    // the job it submitted is never read back to learn its type.
    expect(nomad.requests().map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual([
      "POST /v1/jobs/parse",
      "POST /v1/job/banana/plan",
      "POST /v1/jobs",
      ...Array(sleeps.length + 1).fill("GET /v1/job/banana/deployment"),
    ]);
    const nomadBefore = nomad.requests().length;
    takeRequests();

    // GitHub lists what the first delivery made; the payload may come back as a JSON string.
    mergeReads(
      nomadConfig,
      [
        {
          id: 4243,
          ref: MERGE,
          environment: "production",
          creator: { login: "nomad-gitops[bot]", type: "Bot" },
          payload: JSON.stringify(payload(34)),
        },
      ],
      422,
    );
    await t.probot.receive(merged());
    await scheduler.idle();

    expect(takeRequests()).toEqual([
      "GET /repos/acme/platform/contents/.github%2Fnomad-gitops.yml",
      "GET /repos/acme/platform/git/ref/heads%2Fnomad-gitops%2Fdeploy",
      "GET /repos/acme/platform/pulls/12/files?per_page=100",
      "POST /graphql",
      `GET /repos/acme/platform/deployments?sha=${MERGE}&environment=production&per_page=100`,
    ]);
    // No second follow-up; the cluster was only read (no parse, no submit).
    expect(scheduler.sleeps()).toEqual(sleeps);
    expect(t.logs().split("following rollouts until they finish")).toHaveLength(2);
    const again = nomad.requests().slice(nomadBefore);
    expect(again.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v1/job/banana?namespace=default",
      "GET /v1/job/banana/deployment?namespace=default",
    ]);
  });

  it("a job a person changed after the PR's plan preview: error status and a failed check run on the merge, no overwrite", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: pinned("banana") },
      rollout: { banana: "running" },
    });
    mockInstallationToken();
    mergeReads(", submit: true, follow_minutes: 0");
    const digest = digests[`banana:${S1}`]!;
    github()
      .post(`${R}/deployments`, {
        ref: MERGE,
        environment: "production",
        description: `banana ${digest.slice(0, 19)}`,
        payload: payload(),
        auto_merge: false,
        required_contexts: [],
      })
      .reply(201, { id: 4243 });
    const refused =
      "not submitted: the job changed in Nomad after the PR's plan preview (Nomad answered 500: Enforcing job modify index 18: job exists with conflicting job modify index: 19 (POST /v1/jobs))";
    expectStatus("error", `${refused.slice(0, 139)}…`);
    github()
      .get(`${R}/commits/${MERGE}/check-runs`)
      .query({ check_name: "nomad-gitops/rollout", filter: "all", per_page: 100 })
      .reply(200, { total_count: 0, check_runs: [] });
    github()
      .post(`${R}/check-runs`, {
        name: "nomad-gitops/rollout",
        head_sha: MERGE,
        status: "completed",
        conclusion: "failure",
        output: {
          title: "Nomad did not take job banana",
          summary: `The merged job files were not all submitted; nothing was overwritten.\n\n- \`banana\` (banana): ${refused}`,
        },
      })
      .reply(201, { id: 78 });

    const event = merged();
    // The preview saw index 18; a person ran the job since (the cluster holds 19).
    (event.payload as { pull_request: { body: string } }).pull_request.body =
      "Deploy\n\n<!-- nomad-gitops:plan-index banana=18 -->\n";
    await t.probot.receive(event);

    expect(nomad.requests().map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual([
      "POST /v1/jobs/parse",
      "POST /v1/jobs",
    ]);
    // Nomad refused the register that named the preview's index (no plan at merge).
    expect(nomad.requests()[1]!.body).toMatchObject({ EnforceIndex: true, JobModifyIndex: 18 });
  });

  it("posts failure with the failing allocation's event", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: pinned("banana") },
      progress: { banana: ["running", "failed"] },
    });
    mergeMocks("");
    expectStatus("in_progress", "v4: Deployment is running (0/2 healthy)");
    const failure =
      "v4: Failed due to unhealthy allocations - rolling back to job version 3 (0/2 healthy) — server: Driver Failure: Failed to pull `ghcr.io/acm…";
    expect(failure).toHaveLength(140);
    expectFollowStatus("failure", failure, RUNNING);

    await t.probot.receive(merged());
    await scheduler.idle();
    expect(scheduler.sleeps()).toEqual([5_000]);
    expect(nomad.requests().map((r) => r.path)).toContain(
      "/v1/deployment/allocations/85ee4a9a-339f-a921-a9ef-0550d20b2c61?namespace=default",
    );
  });

  it("posts error at the deadline when the rollout is still running", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: pinned("banana") },
      progress: { banana: ["running"] },
    });
    mergeMocks(", follow_minutes: 1");
    expectStatus("in_progress", "v4: Deployment is running (0/2 healthy)");
    expectFollowStatus("error", "still rolling out after 1 min; see `nomad job status banana`", RUNNING);

    await t.probot.receive(merged());
    await scheduler.idle();
    // 5 + 10 + 20 s, then the last wait cut to land on the minute; a look after each.
    expect(scheduler.sleeps()).toEqual([5_000, 10_000, 20_000, 25_000]);
    expect(deploymentReads()).toBe(5);
  });
});

// The App as shipped (`node dist/server.js`, one replica, no Redis) answers a webhook once it has
// recorded it and does the work after the answer; what a crash or downtime drops is delivered again by
// GitHub when the App asks (the missed-delivery recovery on start). Ordering is proven with the stand-in's
// `hold`, which stops the App's requests mid-work, never with timing thresholds.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { type TestRegistry, freePort, startRegistry } from "../helpers/registry.js";
import { commitAndBuild, completedCheck, createMonorepo, waitForCheck, waitForQueued } from "./fleet.js";
import { duplicates } from "./invariants.js";

let registry: TestRegistry;
const cleanup: Array<() => Promise<void>> = [];

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  for (const stop of cleanup.reverse()) await stop();
  await registry?.stop();
});

/** A stand-in of its own (its delivery list is this test's alone). */
async function standIn(): Promise<GitHubStandIn> {
  const api = await startGitHubApi();
  cleanup.push(() => api.stop());
  return api;
}

/** The App on `port`, recovering missed deliveries once, on start. */
async function app(api: GitHubStandIn, port?: number): Promise<AppProcess> {
  const started = await startAppProcess({
    api,
    ...(port ? { port } : {}),
    env: {
      NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host,
      NOMAD_GITOPS_RECOVERY_INTERVAL_SECONDS: "0",
    },
  });
  cleanup.push(() => started.stop());
  api.webhookUrls = [started.webhookUrl];
  return started;
}

const checkRunWrite = (r: { method: string; path: string }) =>
  r.method === "PATCH" && /\/check-runs\/\d+$/.test(r.path);

it("answers a workflow_run with 200 before its deploy runs; the deploy completes after the answer", async () => {
  const api = await standIn();
  await app(api);
  const repo = await createMonorepo(api, registry, { name: "answer-first", services: 3 });
  const sha = await commitAndBuild(api, registry, repo, [1]);
  await sendPush(api, repo.fullName, "main");
  // Every check-run update waits at the stand-in: the deploy cannot finish until it is released.
  const gate = api.hold(checkRunWrite);
  const delivery = await sendWorkflowRun(api, repo.fullName, { sha });
  // Answered while the work is stopped: 200 ("ok"), not Probot's 202 "still processing" after 9 s.
  expect(delivery.statusCode).toBe(200);
  expect(completedCheck(api, repo.fullName, sha)).toBeNull();
  await expect.poll(() => gate.held(), { timeout: 30_000 }).toBeGreaterThan(0);
  gate.release();
  const check = await waitForCheck(api, repo.fullName, sha);
  expect(check.conclusion).toBe("success");
  // By the stand-in's one clock: the answer came before the check run was completed.
  expect(Date.parse(delivery.deliveredAt) + delivery.durationMs).toBeLessThan(Date.parse(check.completedAt!));
  expect(api.repo(repo.fullName).pulls).toHaveLength(1);
  expect(duplicates(api, repo.fullName)).toEqual([]);
}, 90_000);

it("[fault:app-work-fails-after-answer] reports work that fails after the answer as a failed check run with the reason", async () => {
  const api = await standIn();
  const running = await app(api);
  const repo = await createMonorepo(api, registry, { name: "fails-late", services: 3 });
  const sha = await commitAndBuild(api, registry, repo, [1]);
  await sendPush(api, repo.fullName, "main");
  await waitForQueued(api, repo.fullName, sha);
  // The deploy's first look at the commit's check runs meets a rate limit that does not lift in time:
  // the work fails before it has a check run of its own.
  api.failNext({
    kind: "secondary",
    retryAfter: 3600,
    match: (r) => r.method === "GET" && /\/check-runs\?/.test(r.path),
  });
  const delivery = await sendWorkflowRun(api, repo.fullName, { sha });
  expect(delivery.statusCode).toBe(200);
  const check = await waitForCheck(api, repo.fullName, sha);
  expect(check.conclusion).toBe("failure");
  expect(check.output.title).toBe("The App could not finish this event");
  expect(check.output.summary).toContain(`\`workflow_run\` delivery \`${delivery.guid}\``);
  expect(check.output.summary).toMatch(/secondary rate limit/);
  // From the deploy's record of its writes (none yet), not a fixed sentence.
  expect(check.output.summary).toContain(
    "No write to the repository, the deploy PR or its comment was made before the failure.",
  );
  // The push's waiting run became this failure (one run, not a second beside a queued one).
  expect(api.repo(repo.fullName).checkRuns.filter((r) => r.headSha === sha)).toHaveLength(1);
  expect(api.repo(repo.fullName).pulls).toHaveLength(0);
  expect(running.logs()).toMatch(/work after the answer failed/);
}, 90_000);

it("[fault:app-missed-deliveries] delivers again, on start, the events GitHub could not deliver while the App was down", async () => {
  const api = await standIn();
  const port = await freePort();
  api.webhookUrls = [`http://127.0.0.1:${port}/api/github/webhooks`];
  const repo = await createMonorepo(api, registry, { name: "was-down", services: 3 });
  const sha = await commitAndBuild(api, registry, repo, [2]);
  const push = await sendPush(api, repo.fullName, "main");
  const run = await sendWorkflowRun(api, repo.fullName, { sha });
  expect([push.statusCode, run.statusCode]).toEqual([0, 0]);
  await app(api, port);
  const check = await waitForCheck(api, repo.fullName, sha);
  expect(check.conclusion).toBe("success");
  // Each missed event was delivered again once, with its GUID.
  const again = api.deliveries().filter((d) => d.redelivery);
  expect(again.map((d) => d.guid).sort()).toEqual([push.guid, run.guid].sort());
  expect(again.every((d) => d.statusCode === 200)).toBe(true);
  expect(api.repo(repo.fullName).pulls).toHaveLength(1);
  expect(duplicates(api, repo.fullName)).toEqual([]);
}, 90_000);

it("[fault:app-crash-after-answer] without Redis, a restart delivers again what the killed process had answered but not finished", async () => {
  const api = await standIn();
  const first = await app(api);
  const repo = await createMonorepo(api, registry, { name: "crash-after-answer", services: 3 });
  const sha = await commitAndBuild(api, registry, repo, [0]);
  await sendPush(api, repo.fullName, "main");
  // Killed at its first deploy write: the PR branch's creation (held, then let through after the kill, so
  // the restart finds a branch at the deploy branch head with no commit of its own, and writes over it).
  const gate = api.hold((r) => r.method === "POST" && r.path.endsWith("/git/refs"));
  const delivery = await sendWorkflowRun(api, repo.fullName, { sha });
  expect(delivery.statusCode).toBe(200);
  await expect.poll(() => gate.held(), { timeout: 30_000 }).toBeGreaterThan(0);
  await first.kill();
  gate.release();
  expect(completedCheck(api, repo.fullName, sha)).toBeNull();
  await app(api, first.port);
  const check = await waitForCheck(api, repo.fullName, sha);
  expect(check.conclusion).toBe("success");
  expect(api.deliveries().filter((d) => d.redelivery && d.guid === delivery.guid)).toHaveLength(1);
  expect(api.repo(repo.fullName).pulls).toHaveLength(1);
  expect(duplicates(api, repo.fullName)).toEqual([]);
}, 90_000);

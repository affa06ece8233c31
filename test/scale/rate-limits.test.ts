// The App as shipped (its own process, its own throttling) meets GitHub's rate limits: a short one is
// waited out and the deploy succeeds; one that does not lift in time fails the check run with GitHub's
// message.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPullRequestClosed,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { startNomad } from "../helpers/nomad.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { commitAndBuild, createMonorepo, serviceName, waitForCheck } from "./fleet.js";

let registry: TestRegistry;
let api: GitHubStandIn;
let app: AppProcess;

beforeAll(async () => {
  registry = await startRegistry();
  api = await startGitHubApi();
  app = await startAppProcess({ api, env: { NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host } });
  api.webhookUrls = [app.webhookUrl];
});
afterAll(async () => {
  await app?.stop();
  await api?.stop();
  await registry?.stop();
});

const createsPr = (r: { method: string; path: string }) => r.method === "POST" && /\/pulls$/.test(r.path);

it("waits out a secondary rate limit on a write and finishes the deploy", async () => {
  const repo = await createMonorepo(api, registry, { name: "limited-once", services: 3 });
  const sha = await commitAndBuild(api, registry, repo, [1]);
  await sendPush(api, repo.fullName, "main");
  api.failNext({ kind: "secondary", retryAfter: 1, match: createsPr });
  const delivery = await sendWorkflowRun(api, repo.fullName, { sha });
  expect(delivery.statusCode).toBeLessThan(300);
  const check = await waitForCheck(api, repo.fullName, sha);
  expect(check.conclusion).toBe("success");
  const attempts = api.requests().filter((r) => r.repo === repo.fullName && createsPr(r));
  expect(attempts.map((r) => r.status)).toEqual([403, 201]);
  expect(api.repo(repo.fullName).pulls).toHaveLength(1);
});

it("reports a rate limit that does not lift as a failed check run, never a success", async () => {
  const repo = await createMonorepo(api, registry, { name: "limited-long", services: 3 });
  const sha = await commitAndBuild(api, registry, repo, [1]);
  await sendPush(api, repo.fullName, "main");
  // Longer than the App waits for (60 s): it gives up at once.
  api.failNext({ kind: "secondary", retryAfter: 3600, match: createsPr });
  await sendWorkflowRun(api, repo.fullName, { sha });
  const check = await waitForCheck(api, repo.fullName, sha);
  expect(check.conclusion).toBe("failure");
  expect(check.output.summary).toMatch(/secondary rate limit/);
  expect(api.repo(repo.fullName).pulls).toHaveLength(0);
  expect(app.logs()).toMatch(/giving up after 0 retries/);
});

it("a merge that moves 100 services: one deployment for all, a handful of writes, never 80 in a minute", async () => {
  const services = Array.from({ length: 100 }, (_, i) => serviceName(i));
  // The merge's look: every job rolling out; the follow-up's first re-check: every job done.
  const nomad = await startNomad({
    progress: Object.fromEntries(services.map((s) => [s, ["running", "successful"] as const])) as Record<
      string,
      Array<"running" | "successful">
    >,
  });
  try {
    const repo = await createMonorepo(api, registry, {
      name: "hundred",
      services: 100,
      extraConfig: `nomad: { address: "${nomad.address}", follow_minutes: 2 }`,
    });
    const sha = await commitAndBuild(
      api,
      registry,
      repo,
      services.map((_, i) => i),
    );
    await sendPush(api, repo.fullName, "main");
    await sendWorkflowRun(api, repo.fullName, { sha });
    expect((await waitForCheck(api, repo.fullName, sha, 120_000)).conclusion).toBe("success");
    const pr = api.repo(repo.fullName).pulls[0]!;
    api.mergePull(repo.fullName, pr.number);
    for (const s of services) {
      const text = api.file(repo.fullName, "main", `nomad/${s}.nomad.hcl`)!;
      nomad.run(s, /image\s*=\s*"([^"]+)"/.exec(text)![1]!);
    }
    const merged = Date.now();
    await sendPullRequestClosed(api, repo.fullName, pr.number);
    const state = api.repo(repo.fullName);
    const deadline = Date.now() + 60_000;
    while (!state.deployments[0]?.statuses.some((s) => s.state === "success")) {
      if (Date.now() > deadline) throw new Error("no final status on the merge's deployment");
      await new Promise((r) => setTimeout(r, 200));
    }

    expect(state.deployments).toHaveLength(1);
    const [deployment] = state.deployments;
    expect(
      (deployment!.payload as { targets: Array<{ service: string }> }).targets.map((t) => t.service),
    ).toEqual(services);
    expect(deployment!.statuses.map((s) => [s.state, s.description])).toEqual([
      ["in_progress", "0/100 services rolled out, 100 rolling out"],
      ["success", "100/100 services rolled out"],
    ]);
    const writes = api.requests().filter((r) => r.repo === repo.fullName && r.write);
    // After the merge: the deploy branch deleted, the deployment, its two statuses.
    expect(writes.filter((r) => r.time >= merged).map((r) => r.route)).toEqual([
      "DELETE /repos/:owner/:repo/git/refs/*ref",
      "POST /repos/:owner/:repo/deployments",
      "POST /repos/:owner/:repo/deployments/:id/statuses",
      "POST /repos/:owner/:repo/deployments/:id/statuses",
    ]);
    // The deploy run and the merge together, in any 60 s: far below GitHub's 80.
    const times = writes.map((r) => r.time);
    const peak = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 60_000).length));
    expect(peak).toBeLessThan(80);
    expect(writes.every((r) => r.status < 400)).toBe(true);
  } finally {
    await nomad.stop();
  }
}, 240_000);

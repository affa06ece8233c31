// A rollout follow-up outlives the replica that started it. The App as shipped (`node dist/server.js`,
// REDIS_URL to a real redis-server) merges a deploy PR against the GitHub API stand-in and the Nomad
// stand-in, posts `in_progress`, and is killed with SIGKILL; two replicas then start at once, both find
// the unfinished deployment in GitHub, one claims it and posts `success`: once.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPullRequestClosed,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { type NomadStandIn, startNomad } from "../helpers/nomad.js";
import { type TestRedis, startRedis } from "../helpers/redis.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { commitAndBuild, createMonorepo, waitForCheck } from "./fleet.js";

let registry: TestRegistry;
let redis: TestRedis;
let api: GitHubStandIn;
let nomad: NomadStandIn;
const apps: AppProcess[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  redis = await startRedis();
  api = await startGitHubApi();
  // The merge's look says running; the next look (whoever makes it) says successful.
  nomad = await startNomad({ progress: { svc000: ["running", "successful"] } });
}, 60_000);
afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await api?.stop();
  await nomad?.stop();
  await redis?.stop();
  await registry?.stop();
});

async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("[fault:rollout-follower-killed] a replica killed mid-follow-up: replicas that start resume it from GitHub, each status posted once", async () => {
  // A short lease: the killed replica's claim runs out within the test (default 180 s).
  const env = {
    NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host,
    REDIS_URL: redis.url,
    NOMAD_GITOPS_ROLLOUT_LEASE_SECONDS: "4",
  };
  const first = await startAppProcess({ api, env });
  apps.push(first);
  api.webhookUrls = [first.webhookUrl];
  const repo = await createMonorepo(api, registry, {
    name: "resume",
    services: 1,
    extraConfig: `nomad: { address: "${nomad.address}", follow_minutes: 5 }`,
  });
  const sha = await commitAndBuild(api, registry, repo, [0]);
  await sendPush(api, repo.fullName, "main");
  await sendWorkflowRun(api, repo.fullName, { sha });
  expect((await waitForCheck(api, repo.fullName, sha)).conclusion).toBe("success");
  const pr = api.repo(repo.fullName).pulls[0]!;
  api.mergePull(repo.fullName, pr.number);
  // A GitOps reconciler picks the merge up: the cluster's job runs what main pins.
  const pinned = /image\s*=\s*"([^"]+)"/.exec(
    api.file(repo.fullName, "main", "nomad/svc000.nomad.hcl")!,
  )![1]!;
  nomad.run("svc000", pinned);

  await sendPullRequestClosed(api, repo.fullName, pr.number);
  const deployment = await until("the merge's deployment", () => {
    const d = api.repo(repo.fullName).deployments[0];
    return d && d.statuses.length > 0 ? d : null;
  });
  expect(deployment.statuses.map((s) => s.state)).toEqual(["in_progress"]);
  await first.kill(); // before its first re-check (5 s)

  const [a, b] = await Promise.all([startAppProcess({ api, env }), startAppProcess({ api, env })]);
  apps.push(a, b);
  try {
    await until("the resumed success", () => deployment.statuses.some((s) => s.state === "success"));
  } catch (e) {
    console.log(
      "DEBUG",
      [a, b]
        .map((x) =>
          x
            .logs()
            .split("\n")
            .filter((l) => /rollout|resume|warn|error/i.test(l))
            .map((l) => l.slice(0, 300))
            .join("\n"),
        )
        .join("\n----\n"),
    );
    throw e;
  }
  // The other replica had its chance to post too; give it a re-check's time.
  await new Promise((r) => setTimeout(r, 6_000));
  expect(api.repo(repo.fullName).deployments).toHaveLength(1);
  expect(deployment.statuses.map((s) => [s.state, s.description])).toEqual([
    ["in_progress", "v4: Deployment is running (0/2 healthy)"],
    ["success", "v4: Deployment completed successfully (2/2 healthy)"],
  ]);
  const resumed = [a, b].filter((x) => x.logs().includes("resumed rollout follow-up"));
  expect(resumed).toHaveLength(1);
}, 150_000);

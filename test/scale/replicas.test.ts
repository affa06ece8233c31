// Two replicas of the App (`node dist/server.js`, each its own process) behind one webhook sender that
// alternates between them, sharing a real redis-server through REDIS_URL, against the GitHub API
// stand-in. A burst of builds and redeliveries across repositories ends with every check run completed
// and nothing written twice. The heavy version is `npm run bench` (bench/replicas.ts).
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  pushPayload,
  startGitHubApi,
  workflowRunPayload,
} from "../helpers/github-api/index.js";
import { type TestRedis, startRedis } from "../helpers/redis.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { commitAndBuild, createMonorepo, waitForCheck } from "./fleet.js";
import { duplicates } from "./invariants.js";

let registry: TestRegistry;
let redis: TestRedis;
let api: GitHubStandIn;
const apps: AppProcess[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  redis = await startRedis();
  api = await startGitHubApi();
  const env = { NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host, REDIS_URL: redis.url };
  apps.push(await startAppProcess({ api, env }), await startAppProcess({ api, env }));
  api.webhookUrls = apps.map((a) => a.webhookUrl);
}, 90_000);
afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await api?.stop();
  await redis?.stop();
  await registry?.stop();
});

it("serialises each repository across replicas: every build ends in a completed check run, nothing twice", async () => {
  const repos = await Promise.all(
    [0, 1, 2, 3].map((i) => createMonorepo(api, registry, { name: `replicas-${i}`, services: 3 })),
  );
  // Two builds per repository, each moving another service; then every event at once, each delivered
  // twice (to both replicas, as a redelivery would), in no particular order between repositories.
  const builds: Array<{ repo: string; sha: string }> = [];
  const events: Array<[string, Record<string, unknown>]> = [];
  for (const repo of repos) {
    for (const moved of [0, 1]) {
      const sha = await commitAndBuild(api, registry, repo, [moved]);
      builds.push({ repo: repo.fullName, sha });
      events.push(["push", pushPayload(api, repo.fullName, "main")]);
    }
  }
  for (const b of builds) events.push(["workflow_run", workflowRunPayload(api, b.repo, { sha: b.sha })]);
  const deliveries = await Promise.all(
    [...events, ...events].map(([name, payload]) => api.deliver(name, payload)),
  );
  // Each delivery is answered once recorded in the Redis ledger, before its work: nothing is refused
  // and none outlasts GitHub's 10 s (status 0), however long its repository's queue.
  expect(deliveries.filter((d) => d.statusCode !== 200)).toEqual([]);
  expect(new Set(deliveries.map((d) => d.target))).toEqual(new Set(apps.map((a) => a.webhookUrl)));

  for (const b of builds) {
    const check = await waitForCheck(api, b.repo, b.sha);
    expect(["success", "neutral"]).toContain(check.conclusion);
  }
  for (const repo of repos) {
    const state = api.repo(repo.fullName);
    expect(duplicates(api, repo.fullName)).toEqual([]);
    expect(state.pulls).toHaveLength(1);
    // The deploy branch ends at the newest build, whichever replica wrote it.
    // Its commit records the build it pins (digest-only pins carry no tag).
    const head = api.store.commits.get(state.refs.get("refs/heads/nomad-gitops/deploy")!)!;
    expect(head.message).toContain(
      `Nomad-Gitops-Build: ${builds.filter((b) => b.repo === repo.fullName)[1]!.sha}`,
    );
  }
}, 240_000);

// The App as shipped (its own process, its own throttling) meets GitHub's rate limits: a short one is
// waited out and the deploy succeeds; one that does not lift in time fails the check run with GitHub's
// message.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { commitAndBuild, createMonorepo, waitForCheck } from "./fleet.js";

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

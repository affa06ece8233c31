// An installation token expires after an hour. A deploy that is still writing when its token runs out
// must carry on with a new one: the App never holds a token string itself, and @octokit/auth-app (through
// Probot's installation client) keeps a token for 59 of its 60 minutes, then asks for another. The GitHub
// stand-in issues stateless tokens (ghs_<app>_<JWT>) and refuses each after its `expires_at`; the clock is
// moved past that hour while the deploy waits at its tree write.
import { Probot, ProbotOctokit } from "probot";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import { nomadGitops } from "../../src/app.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { type GitHubStandIn, startGitHubApi, workflowRunPayload } from "../helpers/github-api/index.js";
import { pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { testPrivateKey } from "./harness.js";
import { configText, image, jobFile } from "./scenario.js";

let registry: TestRegistry;
let api: GitHubStandIn;

beforeAll(async () => {
  [registry, api] = await Promise.all([startRegistry(), startGitHubApi()]);
});
afterAll(async () => {
  await api?.stop();
  await registry?.stop();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Waits (a real tick at a time) until `ready` holds: ordering, not a timed expectation. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 10));
}

it("[fault:installation-token-expires-mid-deploy] a token that expires mid-deploy is renewed: one new token exchange, no request refused, the deploy completes", async () => {
  const host = registry.host;
  const { sha: first } = api.createRepo({ owner: "acme", name: "shop", files: { "README.md": "shop\n" } });
  const v1 = await pushTestImage(registry.directHost, "acme/web", first, image("web", 1));
  api.pushCommit(
    "acme/shop",
    "main",
    {
      ".github/nomad-gitops.yml": configText(host, ["web"], "release_notes: { file: false }\n"),
      "nomad/web.nomad.hcl": jobFile(host, "web", `${first}@${v1}`),
    },
    "pin web",
  );
  const sha = api.pushCommit("acme/shop", "main", { "services/web/main.go": "// v2\n" }, "web: v2");
  await pushTestImage(registry.directHost, "acme/web", sha, image("web", 2));

  const probot = new Probot({
    appId: api.appId,
    privateKey: testPrivateKey(),
    secret: api.webhookSecret,
    Octokit: ProbotOctokit.defaults((instance: Record<string, unknown>) => ({
      ...instance,
      baseUrl: api.url,
      retry: { enabled: false },
      throttle: { ...(instance.throttle as object | undefined), enabled: false },
    })),
    log: pino({ level: "silent" }),
  });
  await probot.load(
    nomadGitops({ registry: createRegistryClient({ env: { NOMAD_GITOPS_INSECURE_REGISTRIES: host } }) }),
  );

  // Only Date is faked: the deploy's own timers and sockets run as usual.
  vi.useFakeTimers({ toFake: ["Date"], now: new Date() });
  api.clearRequests();
  // The first deploy write: the new PR branch is created (then committed on with createCommitOnBranch).
  const gate = api.hold((r) => r.method === "POST" && r.path.endsWith("/git/refs"));
  const payload = workflowRunPayload(api, "acme/shop", { sha });
  const deploying = probot.receive({
    id: "wr-token-renewal",
    name: "workflow_run",
    payload,
  } as Parameters<Probot["receive"]>[0]);
  await until(() => gate.held() === 1);
  expect(api.tokensIssued).toBe(1);
  // An hour and a minute later: the first token is past its expires_at, and past auth-app's cache.
  vi.setSystemTime(Date.now() + 61 * 60_000);
  gate.release();
  await deploying;

  expect(api.tokensIssued).toBe(2);
  const answered = api.requests();
  expect(answered.filter((r) => r.status === 401)).toEqual([]);
  // The writes after the hold went out with the new token and were taken.
  const afterHold = answered.slice(
    answered.findIndex((r) => r.route === "POST /repos/:owner/:repo/git/refs"),
  );
  expect(afterHold.map((r) => r.route)).toEqual(
    expect.arrayContaining(["POST /app/installations/:id/access_tokens", "POST /repos/:owner/:repo/pulls"]),
  );
  const repo = api.repo("acme/shop");
  expect(repo.pulls).toHaveLength(1);
  const run = repo.checkRuns.find((r) => r.headSha === sha);
  expect([run?.status, run?.conclusion]).toEqual(["completed", "success"]);
});

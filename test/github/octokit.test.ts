// The App's Octokit against the GitHub API stand-in: reads are not paced, content-creating requests
// are (burst, then a steady rate per installation), and rate-limit answers are retried after GitHub's
// wait within a bound, then fail with GitHub's message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WritePacing, appOctokit, isContentCreating } from "../../src/github/octokit.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";

const TOKEN = "ghs_TokenForThrottlingTests";
let api: GitHubStandIn;

beforeAll(async () => {
  api = await startGitHubApi({ tokens: { [TOKEN]: "nomad-gitops[bot]" } });
  api.createRepo({ owner: "acme", name: "pace", files: { "README.md": "hi\n" } });
});
afterAll(() => api.stop());

function client(pacing: WritePacing, installation: string, named: "throttle" | "auth" = "throttle") {
  const Octokit = appOctokit(pacing);
  return new Octokit({
    // Probot's installation clients name their installation in the auth options, not in `throttle.id`.
    auth: named === "auth" ? { token: TOKEN, installationId: installation } : { token: TOKEN },
    baseUrl: api.url,
    ...(named === "throttle" ? { throttle: { id: installation } } : {}),
    retry: { enabled: false },
  });
}

const blob = (o: ReturnType<typeof client>, content: string) =>
  o.request("POST /repos/{owner}/{repo}/git/blobs", { owner: "acme", repo: "pace", content });

it("counts REST writes and GraphQL mutations as content-creating, and nothing else", () => {
  expect(isContentCreating({ method: "GET", url: "/repos/a/b/pulls" })).toBe(false);
  expect(isContentCreating({ method: "POST", url: "/repos/a/b/check-runs" })).toBe(true);
  expect(
    isContentCreating({ method: "PATCH", url: "https://ghe.example/api/v3/repos/a/b/check-runs/1" }),
  ).toBe(true);
  expect(isContentCreating({ method: "DELETE", url: "/repos/a/b/git/refs/heads/x" })).toBe(true);
  expect(isContentCreating({ method: "POST", url: "/graphql", query: "query { viewer { login } }" })).toBe(
    false,
  );
  expect(isContentCreating({ method: "POST", url: "/api/graphql", query: " mutation($a: ID!) { x }" })).toBe(
    true,
  );
  expect(isContentCreating({ method: "POST", url: "/app/installations/4242/access_tokens" })).toBe(false);
});

describe("pacing", () => {
  it("sends a burst at once, then paces writes while reads go straight through", async () => {
    const o = client({ burst: 3, perMinute: 120, maxWaitSeconds: 5, retries: 2 }, "pace-1");
    api.clearRequests();
    const start = Date.now();
    for (let i = 0; i < 3; i += 1) await blob(o, `burst ${i}`);
    // The bucket is empty: this write waits for a token, the read does not wait behind it.
    const write = blob(o, "paced");
    const read = o.graphql(`query { repository(owner: "acme", name: "pace") { id } }`);
    await Promise.all([write, read]);
    for (let i = 0; i < 3; i += 1) await blob(o, `paced ${i}`);
    const log = api.requests();
    expect(log.map((r) => r.route)).toEqual([
      ...Array(3).fill("POST /repos/:owner/:repo/git/blobs"),
      "graphql query",
      ...Array(4).fill("POST /repos/:owner/:repo/git/blobs"),
    ]);
    // A token bucket of 3 refilled at 120 a minute lets at most 3 + 2/s writes through in any window,
    // however slow each request is: seven writes need four refills, so the last one cannot be sent
    // (let alone arrive) before 2 s after the first was asked for. Measured from the client's start,
    // not the first arrival, so a slow first request cannot shrink the interval.
    const writes = log.filter((r) => r.route.startsWith("POST /repos"));
    expect(writes.at(-1)!.time - start).toBeGreaterThanOrEqual(1950);
  });

  it.each(["throttle", "auth"] as const)("keeps one bucket per installation (named in %s)", async (named) => {
    const pacing = { burst: 1, perMinute: 6, maxWaitSeconds: 5, retries: 2 };
    const a = client(pacing, `pace-a-${named}`, named);
    const b = client(pacing, `pace-b-${named}`, named);
    await blob(a, "a1");
    // Installation a's bucket is empty for 10 s; b's is full: b writes at once.
    const before = Date.now();
    await blob(b, "b1");
    expect(Date.now() - before).toBeLessThan(5000);
    const pending = blob(a, "a2");
    let sent = false;
    pending.then(
      () => (sent = true),
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toBe(false);
  });
});

describe("rate limits", () => {
  const pacing = { burst: 30, perMinute: 50, maxWaitSeconds: 5, retries: 2 };

  it("retries a secondary rate limit after retry-after", async () => {
    const o = client(pacing, "limits-1");
    api.clearRequests();
    api.failNext({ kind: "secondary", retryAfter: 1 });
    await blob(o, "after a secondary limit");
    expect(api.requests().map((r) => r.status)).toEqual([403, 201]);
    expect(api.requests()[1]!.time - api.requests()[0]!.time).toBeGreaterThanOrEqual(900);
  });

  it("retries a primary rate limit after its reset, on 429 as on 403", async () => {
    const o = client(pacing, "limits-2");
    api.clearRequests();
    api.failNext({ kind: "primary", status: 429, resetIn: 0 });
    await blob(o, "after a primary limit");
    expect(api.requests().map((r) => r.status)).toEqual([429, 201]);
  });

  it("gives up after the retries with GitHub's message", async () => {
    const o = client(pacing, "limits-3");
    api.clearRequests();
    api.failNext({ kind: "secondary", retryAfter: 1, times: 5 });
    await expect(blob(o, "limited")).rejects.toThrow(/secondary rate limit/);
    expect(api.requests().map((r) => r.status)).toEqual([403, 403, 403]);
    api.clearLimits();
  });

  it("does not wait longer than the bound", async () => {
    const o = client(pacing, "limits-4");
    api.clearRequests();
    api.failNext({ kind: "secondary", retryAfter: 3600 });
    await expect(blob(o, "limited")).rejects.toThrow(/secondary rate limit/);
    api.failNext({ kind: "primary", resetIn: 3600 });
    await expect(blob(o, "limited")).rejects.toThrow(/rate limit exceeded/);
    expect(api.requests().map((r) => r.status)).toEqual([403, 403]);
  });
});

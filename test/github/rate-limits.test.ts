// GitHub's rate-limit answers as the App's client reads them: the wait GitHub names (a 0 is "now", held to
// our floor), a reset already past as "now", and GitHub's documented minute when it names no wait.
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { actionOctokit } from "../../src/action/client.js";
import { DEFAULT_PACING, type WritePacing, appOctokit } from "../../src/github/octokit.js";
import { NO_WAIT_NAMED_SECONDS, RETRY_FLOOR_SECONDS, rateLimitWait } from "../../src/github/rate-limits.js";

const API = "https://api.github.com";
const SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
const PRIMARY = "API rate limit exceeded for installation.";
const BLOB = "/repos/acme/pace/git/blobs";

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  vi.useRealTimers();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

function client(installation: string, warnings: string[], retryPlugin: "off" | "as shipped" = "off") {
  // Waits up to 5 s: GitHub's fallback minute is more than that, so a misread 0 gives up instead of retrying.
  const pacing: WritePacing = { burst: 30, perMinute: 50, maxWaitSeconds: 5, retries: 2 };
  const Octokit = appOctokit(pacing);
  return new Octokit({
    auth: { token: "ghs_RateLimitTests" },
    throttle: { id: installation },
    ...(retryPlugin === "off" ? { retry: { enabled: false } } : {}),
    log: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
  });
}

/** Settles a request whose retries wait on timers, moving a fake clock on; returns the fake seconds taken. */
async function onFakeClock<T>(
  send: () => Promise<T>,
): Promise<{ outcome: PromiseSettledResult<T>; seconds: number }> {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  const start = Date.now();
  let outcome: PromiseSettledResult<T> | undefined;
  send().then(
    (value) => (outcome = { status: "fulfilled", value }),
    (reason: unknown) => (outcome = { status: "rejected", reason }),
  );
  while (!outcome) await vi.advanceTimersByTimeAsync(100);
  return { outcome, seconds: (Date.now() - start) / 1000 };
}

const TOO_MANY = { message: "Too Many Requests" };
const reason = (outcome: PromiseSettledResult<unknown>) =>
  outcome.status === "rejected" ? String(outcome.reason) : "fulfilled";

const blob = (o: ReturnType<typeof client>) =>
  o.request("POST /repos/{owner}/{repo}/git/blobs", { owner: "acme", repo: "pace", content: "x" });

describe("the App's client on a rate-limit answer", () => {
  it("[fault:github-retry-after-zero] retries a secondary limit with retry-after 0 after our floor, not GitHub's minute", async () => {
    const warnings: string[] = [];
    nock(API)
      .post(BLOB, { content: "x" })
      .reply(403, { message: SECONDARY }, { "retry-after": "0" })
      .post(BLOB, { content: "x" })
      .reply(201, { sha: "b1" });
    const { data } = await blob(client("zero", warnings));
    expect(data).toEqual({ sha: "b1" });
    expect(warnings).toEqual([
      `GitHub secondary rate limit on POST /repos/{owner}/{repo}/git/blobs: retrying in ${RETRY_FLOOR_SECONDS} s (retry-after 0; retry 1 of 2)`,
    ]);
  });

  it("[fault:github-rate-limit-reset-past] retries a primary limit whose reset is already past after our floor", async () => {
    const warnings: string[] = [];
    const past = String(Math.floor(Date.now() / 1000) - 30);
    nock(API)
      .post(BLOB, { content: "x" })
      .reply(429, { message: PRIMARY }, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": past })
      .post(BLOB, { content: "x" })
      .reply(201, { sha: "b2" });
    const { data } = await blob(client("past", warnings));
    expect(data).toEqual({ sha: "b2" });
    expect(warnings).toEqual([
      `GitHub primary rate limit on POST /repos/{owner}/{repo}/git/blobs: retrying in ${RETRY_FLOOR_SECONDS} s (x-ratelimit-reset ${past}, already past; retry 1 of 2)`,
    ]);
  });

  it("[fault:github-retry-after-missing] takes GitHub's documented minute when a secondary limit names no wait, and gives up past the bound", async () => {
    const warnings: string[] = [];
    nock(API).post(BLOB, { content: "x" }).reply(403, { message: SECONDARY });
    await expect(blob(client("missing", warnings))).rejects.toThrow(/secondary rate limit/);
    expect(warnings).toEqual([
      `GitHub secondary rate limit on POST /repos/{owner}/{repo}/git/blobs: giving up after 0 retries (no retry-after: GitHub asks for at least ${NO_WAIT_NAMED_SECONDS} s; longest wait 5 s)`,
    ]);
  });
});

describe("a 429 has one owner: the App's rate-limit retry, not Probot's retry plugin as well", () => {
  // Before, @octokit/plugin-retry (inside) retried each 429 three times with 1/4/9 s waits, blind to
  // retry-after, and `retryRateLimited` (outside) retried that whole run twice: 12 requests for one 429
  // with retry-after 1, and 4 requests within 14 s for a 429 that named no wait (GitHub asks for a minute).
  it("[fault:github-429-two-layers] sends a 429 with retry-after 1 three times (two retries), not twelve", async () => {
    const warnings: string[] = [];
    const scope = nock(API);
    for (let i = 0; i < 3; i += 1)
      scope.post(BLOB, { content: "x" }).reply(429, TOO_MANY, { "retry-after": "1" });
    const { outcome } = await onFakeClock(() => blob(client("429-after", warnings, "as shipped")));
    expect(reason(outcome)).toMatch(/Too Many Requests/);
    expect(warnings).toEqual([
      "GitHub secondary rate limit on POST /repos/{owner}/{repo}/git/blobs: retrying in 1 s (retry-after 1; retry 1 of 2)",
      "GitHub secondary rate limit on POST /repos/{owner}/{repo}/git/blobs: retrying in 1 s (retry-after 1; retry 2 of 2)",
      "GitHub secondary rate limit on POST /repos/{owner}/{repo}/git/blobs: giving up after 2 retries (retry-after 1; longest wait 5 s)",
    ]);
  });

  it("[fault:github-429-no-wait] takes a 429 naming no wait as GitHub's minute: refused at once past a 5 s bound", async () => {
    const warnings: string[] = [];
    nock(API).post(BLOB, { content: "x" }).reply(429, TOO_MANY);
    const { outcome } = await onFakeClock(() => blob(client("429-none", warnings, "as shipped")));
    expect(reason(outcome)).toMatch(/Too Many Requests/);
    expect(warnings).toEqual([
      `GitHub secondary rate limit on POST /repos/{owner}/{repo}/git/blobs: giving up after 0 retries (no retry-after: GitHub asks for at least ${NO_WAIT_NAMED_SECONDS} s; longest wait 5 s)`,
    ]);
  });

  it("gives the Action's client the same one owner: a bare 429 is sent three times, a minute apart", async () => {
    const scope = nock(API);
    for (let i = 0; i < 3; i += 1) scope.post(BLOB, { content: "x" }).reply(429, TOO_MANY);
    const action = actionOctokit({}, "ghs_ActionRateLimitTests", { owner: "acme", repo: "pace" });
    const { outcome, seconds } = await onFakeClock(() => blob(action));
    expect(reason(outcome)).toMatch(/Too Many Requests/);
    // Two waits of GitHub's minute on the fake clock (the retry plugin's were 1 + 4 + 9 s).
    expect(DEFAULT_PACING.retries).toBe(2);
    expect(seconds).toBeGreaterThanOrEqual(2 * NO_WAIT_NAMED_SECONDS);
  });
});

describe("the wait read from an answer", () => {
  const NOW = Date.parse("2026-12-07T10:00:00Z");
  const answer = (status: number, message: string, headers: Record<string, string>, data: unknown = {}) =>
    Object.assign(new Error(message), { status, response: { status, headers, data } });

  it("names GitHub's wait, held to our floor, or GitHub's minute when none is named", () => {
    const wait = (e: unknown) => rateLimitWait(e, NOW)?.seconds ?? null;
    expect(wait(answer(403, SECONDARY, { "retry-after": "7" }))).toBe(7);
    expect(wait(answer(403, SECONDARY, { "retry-after": "0" }))).toBe(RETRY_FLOOR_SECONDS);
    expect(wait(answer(403, SECONDARY, {}))).toBe(NO_WAIT_NAMED_SECONDS);
    expect(wait(answer(403, SECONDARY, { "retry-after": "soon" }))).toBe(NO_WAIT_NAMED_SECONDS);
    // A 429 naming a wait is a rate limit whatever its message says.
    expect(wait(answer(429, "Too Many Requests", { "retry-after": "3" }))).toBe(3);
    // A 429 naming no wait is still one: GitHub's minute.
    expect(wait(answer(429, "Too Many Requests", {}))).toBe(NO_WAIT_NAMED_SECONDS);
    const reset = (s: number) => String(NOW / 1000 + s);
    const primary = (h: Record<string, string>) =>
      answer(403, PRIMARY, { "x-ratelimit-remaining": "0", ...h });
    // One second past the reset, so the retry comes after it.
    expect(wait(primary({ "x-ratelimit-reset": reset(20) }))).toBe(21);
    expect(wait(primary({ "x-ratelimit-reset": reset(-20) }))).toBe(RETRY_FLOOR_SECONDS);
    expect(wait(primary({ "x-ratelimit-reset": reset(0) }))).toBe(RETRY_FLOOR_SECONDS);
    expect(wait(primary({}))).toBe(NO_WAIT_NAMED_SECONDS);
    // GraphQL says it in its errors, with a 200.
    expect(
      wait(
        Object.assign(new Error("GraphQL Rate Limit Exceeded"), {
          response: {
            status: 200,
            headers: { "x-ratelimit-reset": reset(5) },
            data: { errors: [{ type: "RATE_LIMITED" }] },
          },
        }),
      ),
    ).toBe(6);
  });

  it("is not a rate limit otherwise", () => {
    expect(rateLimitWait(answer(403, "Resource not accessible by integration", {}), NOW)).toBeNull();
    expect(rateLimitWait(answer(502, "Bad Gateway", { "retry-after": "1" }), NOW)).toBeNull();
    expect(rateLimitWait(new Error("socket hang up"), NOW)).toBeNull();
    expect(rateLimitWait("text", NOW)).toBeNull();
  });
});

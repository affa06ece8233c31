// GitHub's rate-limit answers as the App's client reads them: the wait GitHub names (a 0 is "now", held to
// our floor), a reset already past as "now", and GitHub's documented minute when it names no wait.
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type WritePacing, appOctokit } from "../../src/github/octokit.js";
import { NO_WAIT_NAMED_SECONDS, RETRY_FLOOR_SECONDS, rateLimitWait } from "../../src/github/rate-limits.js";

const API = "https://api.github.com";
const SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
const PRIMARY = "API rate limit exceeded for installation.";
const BLOB = "/repos/acme/pace/git/blobs";

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

function client(installation: string, warnings: string[]) {
  // Waits up to 5 s: GitHub's fallback minute is more than that, so a misread 0 gives up instead of retrying.
  const pacing: WritePacing = { burst: 30, perMinute: 50, maxWaitSeconds: 5, retries: 2 };
  const Octokit = appOctokit(pacing);
  return new Octokit({
    auth: { token: "ghs_RateLimitTests" },
    throttle: { id: installation },
    retry: { enabled: false },
    log: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
  });
}

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

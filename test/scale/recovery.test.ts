// One missed-delivery pass (src/handlers/recovery.ts) against the GitHub API stand-in over HTTP with the
// App's JWT: it pages through the App's deliveries with GitHub's cursor, stays in its window, and asks
// again only for handled events none of whose attempts succeeded.
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ProbotOctokit } from "probot";
import { afterAll, beforeAll, expect, it } from "vitest";
import { recoverMissed, scheduleRecovery, selectRedeliveries } from "../../src/handlers/recovery.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { freePort } from "../helpers/registry.js";

let api: GitHubStandIn;
let target: Server;
let healthy: string;
let down: string;
const log = { info: () => undefined, warn: () => undefined };

beforeAll(async () => {
  api = await startGitHubApi();
  // A webhook target that answers 200, and one where nothing listens.
  target = createServer((req, res) => req.resume().on("end", () => res.writeHead(200).end("ok")));
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  healthy = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
  down = `http://127.0.0.1:${await freePort()}/`;
});
afterAll(async () => {
  await api?.stop();
  await new Promise((r) => target?.close(r));
});

/** The App's JWT as the stand-in reads it (three parts, `iss` = the App id; the signature is not checked). */
function appOctokit() {
  const jwt = [{ alg: "RS256" }, { iss: api.appId }, "sig"]
    .map((p) => Buffer.from(typeof p === "string" ? p : JSON.stringify(p)).toString("base64url"))
    .join(".");
  return new ProbotOctokit({
    auth: { token: jwt },
    baseUrl: api.url,
    throttle: { enabled: false },
    retry: { enabled: false },
  });
}

const event = (action?: string) => ({ ...(action ? { action } : {}), installation: { id: 4242 } });

it("redelivers each handled event that never got through, once, oldest first, paging with GitHub's cursor", async () => {
  api.webhookUrls = [down];
  const early = await api.deliver("push", event());
  const notRetried = await api.deliver("workflow_run", event("completed"));
  // Already delivered again successfully (same GUID): left alone.
  api.webhookUrls = [healthy];
  await api.deliver("workflow_run", event("completed"), { guid: notRetried.guid, redelivery: true });
  const fine = await api.deliver("push", event());
  api.webhookUrls = [down];
  // Events the App does not act on: never worth asking for.
  for (let i = 0; i < 120; i++) await api.deliver("star", event("created"));
  const missedRun = await api.deliver("workflow_run", event("completed"));
  const requestedAction = await api.deliver("workflow_run", event("requested"));
  expect([early, notRetried, missedRun, requestedAction].map((d) => d.statusCode)).toEqual([0, 0, 0, 0]);
  expect(fine.statusCode).toBe(200);

  api.clearRequests();
  api.webhookUrls = [healthy];
  const pass = await recoverMissed(
    appOctokit(),
    { intervalMs: 0, windowMs: 3_600_000, maxDeliveries: 500 },
    { now: new Date(), log },
  );
  expect(pass.listed).toBe(126);
  expect(pass.failed.map((d) => d.guid)).toEqual([early.guid, missedRun.guid]);
  expect(pass.resumed).toEqual([]);
  const asked = api.requests().filter((r) => r.route === "POST /app/hook/deliveries/:id/attempts");
  expect(asked.map((r) => r.path)).toEqual([
    `/app/hook/deliveries/${early.id}/attempts`,
    `/app/hook/deliveries/${missedRun.id}/attempts`,
  ]);
  // 126 attempts at 100 a page: two pages, the second through the Link header's cursor.
  const pages = api.requests().filter((r) => r.route === "GET /app/hook/deliveries");
  expect(pages.map((r) => r.path)).toEqual([
    "/app/hook/deliveries?per_page=100",
    "/app/hook/deliveries?per_page=100&cursor=100",
  ]);
  await expect
    .poll(() => api.deliveries().filter((d) => d.redelivery && d.statusCode === 200).length)
    .toBe(3);

  // The next pass finds them delivered: nothing more is asked.
  api.clearRequests();
  const again = await recoverMissed(
    appOctokit(),
    { intervalMs: 0, windowMs: 3_600_000, maxDeliveries: 500 },
    { now: new Date(), log },
  );
  expect(again.failed).toEqual([]);
  expect(api.requests().filter((r) => r.write)).toEqual([]);
  // The count bounds a pass: two attempts, one page of two.
  const bounded = await recoverMissed(
    appOctokit(),
    { intervalMs: 0, windowMs: 3_600_000, maxDeliveries: 2 },
    { now: new Date(), log },
  );
  expect(bounded.listed).toBe(2);
});

it("stays within its window and count, and resumes answered events only when asked to", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 10, 29, 12, 0, s));
  const attempt = (id: number, guid: string, s: number, statusCode: number, redelivery = false) => ({
    id,
    guid,
    deliveredAt: at(s),
    redelivery,
    statusCode,
    event: "push",
    action: null,
  });
  const list = [
    attempt(5, "c", 50, 200),
    attempt(4, "b", 40, 502, true),
    attempt(3, "b", 30, 0),
    attempt(2, "a", 20, 200),
    attempt(1, "old", 5, 200),
  ];
  // A failed event is asked for through its newest attempt.
  expect(selectRedeliveries(list).failed.map((d) => d.id)).toEqual([4]);
  // After a restart at 45 s with a 30 s resume span: "a" (answered at 20 s) may have been dropped; "c" was
  // answered after the start (this process's own), "old" before the span.
  const resumed = selectRedeliveries(list, { answeredBefore: at(45), since: at(15) }).resumed;
  expect(resumed.map((d) => d.guid)).toEqual(["a"]);
});

it("passes on start even when another replica holds the period's lock; later passes wait for it", async () => {
  api.clearRequests();
  let refused = 0;
  const schedule = scheduleRecovery({
    appOctokit: async () => appOctokit(),
    settings: { intervalMs: 100, windowMs: 3_600_000, maxDeliveries: 10 },
    // Another replica took this period's lock: a replica that has just (re)started still looks, since
    // deliveries refused while it was down would otherwise wait for the next period.
    lock: { acquire: async () => (refused++, false) },
    log,
    startedAt: new Date(),
    startDelayMs: 0,
  });
  const listings = () => api.requests().filter((r) => r.route === "GET /app/hook/deliveries").length;
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  };
  try {
    await until(() => listings() > 0 && refused >= 3);
    const afterStart = listings();
    await until(() => refused >= 6);
    expect(afterStart).toBeGreaterThan(0);
    expect(refused).toBeGreaterThanOrEqual(6);
    expect(listings()).toBe(afterStart);
  } finally {
    schedule.stop();
  }
});

it("pages past the first 100 with the App's own auth (an absolute next-page URL would get installation auth)", async () => {
  // As the App runs: Probot's Octokit with the App id and a private key, so @octokit/auth-app chooses the
  // auth per route. The earlier tests left more than 100 attempts listed.
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const octokit = new ProbotOctokit({
    auth: { appId: api.appId, privateKey },
    baseUrl: api.url,
    throttle: { enabled: false },
    retry: { enabled: false },
  });
  api.clearRequests();
  const result = await recoverMissed(
    octokit,
    { intervalMs: 0, windowMs: 3_600_000, maxDeliveries: 500 },
    { now: new Date(), log },
  );
  expect(result.listed).toBeGreaterThan(100);
  expect(api.requests().filter((r) => r.route === "GET /app/hook/deliveries").length).toBeGreaterThan(1);
});

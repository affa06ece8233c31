// The pending-work ledger in a real redis-server: what a replica accepted survives that replica. First the
// ledger alone (holds, leases, claims, the bound on attempts), then two App processes (`node
// dist/server.js`) sharing it: one is killed with SIGKILL after answering a delivery, the other resumes it.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisLedger } from "../../src/handlers/ledger.js";
import { runtimeFor } from "../../src/handlers/runtime.js";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { type TestRedis, startRedis } from "../helpers/redis.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { commitAndBuild, completedCheck, createMonorepo, waitForCheck } from "./fleet.js";
import { duplicates } from "./invariants.js";

let redis: TestRedis;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

function client(): Redis {
  const c = new Redis(redis.url);
  clients.push(c);
  return c;
}

const delivery = (id: string) => ({ id, name: "push", payload: { after: "a".repeat(40), n: 1 } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the ledger in Redis", () => {
  it("keeps a delivery held by a live replica from the others, and hands it over once that hold runs out", async () => {
    const prefix = `t1-${Date.now()}`;
    const a = redisLedger(client(), { owner: "a", leaseMs: 300, prefix });
    const b = redisLedger(client(), { owner: "b", leaseMs: 300, prefix });
    await a.record(delivery("d1"));
    expect(await b.size()).toBe(1);
    // a renews while it works: b gets nothing.
    for (let i = 0; i < 3; i++) {
      await sleep(120);
      await a.renew(["d1"]);
      expect((await b.claimOrphans(10)).claimed).toEqual([]);
    }
    // a stops renewing (it died): once the lease ran out, b holds it, with its payload.
    await sleep(400);
    const { claimed } = await b.claimOrphans(10);
    expect(claimed).toEqual([delivery("d1")]);
    expect((await a.claimOrphans(10)).claimed).toEqual([]);
    // a, back late, finishing it does not remove b's hold; b's finish removes the delivery.
    await a.finish("d1");
    await b.finish("d1");
    expect(await a.size()).toBe(0);
    expect((await a.claimOrphans(10)).claimed).toEqual([]);
  });

  it("drops a delivery claimed more than maxAttempts times instead of resuming it forever", async () => {
    const prefix = `t2-${Date.now()}`;
    const a = redisLedger(client(), { owner: "a", leaseMs: 50, prefix, maxAttempts: 2 });
    await a.record(delivery("poison"));
    const claims: string[][] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(80);
      const { claimed, dropped } = await a.claimOrphans(10);
      claims.push([...claimed.map((d) => `claimed ${d.id}`), ...dropped.map((id) => `dropped ${id}`)]);
    }
    expect(claims).toEqual([["claimed poison"], ["claimed poison"], ["dropped poison"]]);
    expect(await a.size()).toBe(0);
  });

  it("[fault:app-ledger-entry-unreadable] drops an entry it cannot read back, saying why, and still resumes the others", async () => {
    const prefix = `t3-${Date.now()}`;
    const redis = client();
    const a = redisLedger(redis, { owner: "a", leaseMs: 50, prefix });
    await a.record(delivery("good"));
    // Entries as another version of the App, or a hand edit, might have left them.
    const garbled = '{"name":"push","payload":';
    await redis.hset(`${prefix}:pending`, "garbled", garbled);
    await redis.hset(
      `${prefix}:pending`,
      "old",
      JSON.stringify({ name: "push", payload: {}, attempts: "1" }),
    );
    await sleep(80);
    const { claimed, dropped, unreadable } = await a.claimOrphans(10);
    expect(claimed).toEqual([delivery("good")]);
    expect(dropped).toEqual([]);
    expect(unreadable.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: "garbled", problem: `not JSON (${garbled.length} characters)` },
      { id: "old", problem: expect.stringMatching(/^not a pending delivery \(attempts: .*number/) },
    ]);
    // The problem never quotes the entry, which holds a webhook payload.
    for (const u of unreadable) expect(u.problem).not.toContain("push");
    await a.finish("good");
    expect(await a.size()).toBe(0);
    expect(await redis.keys(`${prefix}:pending:hold:*`)).toEqual([]);
  });

  it("lets one replica per period do the missed-delivery pass", async () => {
    const one = await runtimeFor({ REDIS_URL: redis.url });
    const two = await runtimeFor({ REDIS_URL: redis.url });
    expect(await one.recovery.lock!.acquire(500)).toBe(true);
    expect(await two.recovery.lock!.acquire(500)).toBe(false);
    expect(await one.recovery.lock!.acquire(500)).toBe(false);
    await sleep(600);
    expect(await two.recovery.lock!.acquire(500)).toBe(true);
    // Without Redis: no lock (one process does every pass) and a start-up resume window.
    const alone = await runtimeFor({});
    expect(alone.recovery.lock).toBeUndefined();
    expect(alone.recovery.resumeWindowMs).toBe(600_000);
    await Promise.all([one.close(), two.close(), alone.close()]);
  });

  it("refuses a malformed setting with the variable's name", async () => {
    await expect(runtimeFor({ NOMAD_GITOPS_PENDING_LEASE_SECONDS: "soon" })).rejects.toThrow(
      /NOMAD_GITOPS_PENDING_LEASE_SECONDS: must be a number of seconds/,
    );
  });
});

describe("two replicas sharing the ledger", () => {
  let registry: TestRegistry;
  let api: GitHubStandIn;
  const apps: AppProcess[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    api = await startGitHubApi();
    const env = {
      NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host,
      REDIS_URL: redis.url,
      // Short leases so the test need not wait long for the killed replica's holds to lapse.
      NOMAD_GITOPS_PENDING_LEASE_SECONDS: "1",
      NOMAD_GITOPS_REPO_LEASE_SECONDS: "3",
    };
    apps.push(await startAppProcess({ api, env }), await startAppProcess({ api, env }));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await api?.stop();
    await registry?.stop();
  });

  it("[fault:app-replica-killed-after-answer] resumes on another replica a delivery whose replica was killed after answering it", async () => {
    const [doomed, survivor] = apps as [AppProcess, AppProcess];
    api.webhookUrls = [doomed.webhookUrl];
    const repo = await createMonorepo(api, registry, { name: "killed-after-answer", services: 3 });
    const sha = await commitAndBuild(api, registry, repo, [1]);
    await sendPush(api, repo.fullName, "main");
    // Stopped at the deploy's first write (the PR branch is created, then committed on): mid-way.
    const gate = api.hold((r) => r.method === "POST" && /\/git\/refs$/.test(r.path));
    const answered = await sendWorkflowRun(api, repo.fullName, { sha });
    expect(answered.statusCode).toBe(200);
    await expect.poll(() => gate.held(), { timeout: 30_000 }).toBeGreaterThan(0);
    // The accepted delivery is in Redis while its work is stopped mid-way.
    const ledger = client();
    expect(await ledger.hexists("nomad-gitops:pending", answered.guid)).toBe(1);
    await doomed.kill();
    gate.release();
    expect(completedCheck(api, repo.fullName, sha)).toBeNull();

    const check = await waitForCheck(api, repo.fullName, sha, 30_000).catch((e) => {
      console.log(survivor.logs().slice(-6000));
      throw e;
    });
    expect(check.conclusion).toBe("success");
    expect(survivor.logs()).toContain(answered.guid);
    expect(survivor.logs()).toMatch(/resuming a pending delivery/);
    // Resumed from the ledger, not by GitHub delivering it again.
    expect(api.deliveries().filter((d) => d.guid === answered.guid)).toHaveLength(1);
    await expect.poll(() => ledger.hlen("nomad-gitops:pending"), { timeout: 10_000 }).toBe(0);
    expect(api.repo(repo.fullName).pulls).toHaveLength(1);
    expect(duplicates(api, repo.fullName)).toEqual([]);
  }, 90_000);
});

// The App's rollout follow-up with GitHub's statuses as its state and claims shared through a real
// redis-server: two followers of one deployment post each status once; a follower whose holder died takes
// over when the lease runs out; nothing is posted after a final status. Nomad is the stand-in on 127.0.0.1.
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { DeploymentState, DeploymentsPort } from "../../src/core/ports.js";
import { redisClaims } from "../../src/handlers/claims.js";
import { NomadClient } from "../../src/nomad/client.js";
import {
  type TrackedDeployment,
  followDeployments,
  localClaims,
} from "../../src/nomad/follow-deployments.js";
import type { RolloutTarget } from "../../src/nomad/rollout.js";
import { type NomadStandIn, startNomad } from "../helpers/nomad.js";
import { type TestRedis, startRedis } from "../helpers/redis.js";
import { fakeScheduler } from "../helpers/scheduler.js";

const IMAGE = `ghcr.io/acme/banana:1@sha256:${"1".repeat(64)}`;
let redis: TestRedis;
let nomad: NomadStandIn;
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await nomad?.stop();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

const connect = () => {
  const c = new Redis(redis.url);
  clients.push(c);
  return c;
};

/** GitHub's side of one deployment: its statuses, newest last; `latest` reads them as GitHub lists them. */
function github(initial: Array<[DeploymentState, string]> = []) {
  const statuses = initial.map(([state, description]) => ({ state, description }));
  const port: DeploymentsPort = {
    create: () => Promise.reject(new Error("not here")),
    existing: () => Promise.reject(new Error("not here")),
    unfinished: () => Promise.reject(new Error("not here")),
    latest: async () => statuses.at(-1) ?? null,
    status: async (_id, s) => void statuses.push(s),
  };
  return { statuses, port };
}

const target: RolloutTarget = {
  service: "banana",
  file: "nomad/banana.nomad.hcl",
  job: "banana",
  sites: [
    {
      service: "banana",
      file: "nomad/banana.nomad.hcl",
      job: "banana",
      group: "app",
      task: "server",
      repository: "ghcr.io/acme/banana",
      digest: `sha256:${"1".repeat(64)}`,
    },
  ],
};
const RUNNING = "v4: Deployment is running (0/2 healthy)";
const tracked = (): TrackedDeployment[] => [
  {
    id: 4243,
    startedAt: 1_000_000,
    posted: { state: "in_progress", description: RUNNING },
    items: [{ target, state: "in_progress", description: RUNNING }],
  },
];
const log = { info: () => {}, warn: () => {} };
const options = (port: DeploymentsPort, claims = localClaims()) => ({
  client: new NomadClient({ address: nomad.address }),
  deployments: port,
  claims,
  claimKey: (id: number) => `test:acme/platform#${id}`,
  scheduler: fakeScheduler(),
  minutes: 15,
  namespace: "default",
  log,
});

it("two replicas sharing Redis: one follows the deployment, each status is posted once", async () => {
  nomad = await startNomad({ running: { banana: IMAGE }, progress: { banana: ["running", "successful"] } });
  const gh = github([["in_progress", RUNNING]]);
  const [a, b] = await Promise.all([
    followDeployments(tracked(), options(gh.port, redisClaims(connect()))),
    followDeployments(tracked(), options(gh.port, redisClaims(connect()))),
  ]);
  expect([a, b].sort()).toEqual([[], [4243]]);
  expect(gh.statuses).toEqual([
    { state: "in_progress", description: RUNNING },
    { state: "success", description: "v4: Deployment completed successfully (2/2 healthy)" },
  ]);
  // Released at the end: the claim is free for whoever comes next.
  expect(await connect().get("test:acme/platform#4243")).toBeNull();
});

it("[fault:rollout-follower-killed] a follower killed mid-rollout: another replica takes over when its lease runs out", async () => {
  nomad = await startNomad({ running: { banana: IMAGE }, progress: { banana: ["successful"] } });
  const gh = github([["in_progress", RUNNING]]);
  // The dead replica's claim: never renewed, never released.
  const dead = redisClaims(connect(), 300);
  expect(await dead.claim("test:acme/platform#4243", "killed-replica")).toBe(true);
  const alive = redisClaims(connect(), 300);
  expect(await followDeployments(tracked(), options(gh.port, alive))).toEqual([]);
  expect(gh.statuses).toHaveLength(1);
  await new Promise((resolve) => setTimeout(resolve, 400));
  expect(await followDeployments(tracked(), options(gh.port, alive))).toEqual([4243]);
  expect(gh.statuses.map((s) => s.state)).toEqual(["in_progress", "success"]);
});

it("posts nothing after a final status another follower posted, and never the newest status again", async () => {
  nomad = await startNomad({ running: { banana: IMAGE }, progress: { banana: ["successful"] } });
  const done = github([
    ["in_progress", RUNNING],
    ["success", "v4: Deployment completed successfully (2/2 healthy)"],
  ]);
  await followDeployments(tracked(), options(done.port));
  expect(done.statuses).toHaveLength(2);

  // Another follower already posted the half-way status this one is about to post.
  nomad = await startNomad({
    running: { banana: IMAGE },
    progress: { banana: ["halfway", "successful"] },
  });
  const half = "v4: Deployment is running (1/2 healthy)";
  const same = github([
    ["in_progress", RUNNING],
    ["in_progress", half],
  ]);
  await followDeployments(tracked(), options(same.port));
  expect(same.statuses.map((s) => s.description)).toEqual([
    RUNNING,
    half,
    "v4: Deployment completed successfully (2/2 healthy)",
  ]);
});

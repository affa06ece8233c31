// The proof with real parts, CI-sized (the full burst is `npm run bench:replicas`, bench/replicas.ts): two
// replicas on a real redis-server behind one webhook sender, and one replica killed with SIGKILL between
// planning a deploy and writing it, then restarted. The survivor's deliveries are redelivered to the
// other replica; the killed one's are not, so nothing but the App itself can finish its work. Every push
// still ends in a completed check run, each PR holds the last build, nothing is written twice, and no
// installation goes over GitHub's 80 content-creating requests a minute.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Replicas, runBurst, startReplicas } from "./burst.js";

let replicas: Replicas;

beforeAll(async () => {
  // 50 ms a request, as a near GitHub: a deploy's writes then take long enough to be cut in the middle.
  // A 45 s repository lease instead of 120 s, and a missed-delivery pass every 15 s instead of 10 min: what
  // was refused while the replica was down comes back within the test's wait.
  replicas = await startReplicas({
    latencyMs: 50,
    env: { NOMAD_GITOPS_REPO_LEASE_SECONDS: "45", NOMAD_GITOPS_RECOVERY_INTERVAL_SECONDS: "15" },
  });
}, 90_000);
afterAll(async () => {
  await replicas?.stop();
});

it("a replica killed mid-deploy loses nothing and duplicates nothing", async () => {
  const result = await runBurst(replicas, {
    owners: 2,
    reposPerOwner: 2,
    pushes: 2,
    services: 3,
    redeliver: "from-survivor",
    kill: { afterPlans: 1, downMs: 1500 },
    settleMs: 200_000,
  });
  expect(result.killed, "the replica was killed").not.toBeNull();
  expect(result.killed!.checkAtKill, "killed between plan and write").not.toBe("completed");
  expect(result.builds).toBe(8);
  expect(result.deliveries.redeliveries).toBeGreaterThan(0);
  expect(result.lost).toEqual([]);
  expect(result.duplicates).toEqual([]);
  expect(result.peakWritesPerMinute).toBeLessThanOrEqual(80);
}, 330_000);

// Jobs whose rollout is no Nomad deployment: batch and sysbatch jobs never get one, and a service job
// with `max_parallel = 0` turns them off. Their rollout is read from the allocations of the version the
// cluster holds, so it ends when they complete or fail instead of waiting out follow_minutes as "no Nomad
// deployment for this job yet". A periodic job only registers a template: registering is the rollout.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/nomad/client.js";
import { rolledOutByAllocations, summarizeAllocations } from "../../src/nomad/allocations.js";
import { checkRollout, reportRollouts } from "../../src/nomad/rollout.js";
import type { DeploymentsPort } from "../../src/core/ports.js";
import { parseConfig } from "../../src/config/schema.js";
import type { NomadJob } from "../../src/nomad/types.js";
import { type AllocationStatus, type NomadStandIn, startNomad } from "../helpers/nomad.js";

const D2 = `sha256:${"2".repeat(64)}`;
const jobFile = (extra: string) =>
  `job "nightly" {\n  type = "batch"\n${extra}  group "app" {\n    task "server" {\n      driver = "docker"\n      config {\n        image = "ghcr.io/acme/nightly:2@${D2}"\n      }\n    }\n  }\n}\n`;

let nomad: NomadStandIn | undefined;
afterEach(async () => {
  await nomad?.stop();
  nomad = undefined;
});

function config() {
  const parsed = parseConfig({
    services: [{ name: "nightly", image: "ghcr.io/acme/nightly" }],
    nomad: { address: nomad!.address, submit: true, follow_minutes: 15 },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

const noDeployments: DeploymentsPort = {
  create: async () => 7,
  status: async () => {},
  existing: async () => [],
  latest: async () => null,
  unfinished: async () => [],
};

async function merge(text: string) {
  const client = new NomadClient({ address: nomad!.address, timeoutMs: 2_000 });
  const [r] = await reportRollouts({
    config: config(),
    client,
    deployments: noDeployments,
    sha: "abc",
    files: [{ path: "nomad/nightly.nomad.hcl", text }],
  });
  return { r: r!, client };
}

describe("[fault:nomad-batch-rollout] a batch job's rollout is its allocations, not a deployment that never comes", () => {
  it("running, then complete: in progress with the counts, then success; the follow-up re-check reads the same endpoint", async () => {
    const allocations: Record<string, AllocationStatus[]> = { nightly: ["running", "pending"] };
    nomad = await startNomad({ allocations });
    const { r, client } = await merge(jobFile(""));
    expect([r.state, r.description]).toEqual([
      "in_progress",
      "v0: batch job, 0/2 complete, 1 running, 1 pending",
    ]);
    allocations.nightly = ["complete", "complete"];
    const again = await checkRollout(client, r.target, r.submitIndex);
    expect([again.state, again.description]).toEqual(["success", "v0: batch job, 2/2 complete"]);
    const paths = nomad.requests().map((q) => `${q.method} ${q.path.split("?")[0]}`);
    expect(paths.filter((p) => p.endsWith("/allocations"))).toEqual([
      "GET /v1/job/nightly/allocations",
      "GET /v1/job/nightly/allocations",
    ]);
  });

  it("a failed allocation that Nomad did not replace is a failure naming the task's exit", async () => {
    nomad = await startNomad({ allocations: { nightly: ["complete", "failed"] } });
    const { r } = await merge(jobFile(""));
    expect([r.state, r.description]).toEqual([
      "failure",
      "v0: batch job, 1/2 complete, 1 failed — server: Terminated: exit code 3",
    ]);
  });

  it("no allocation yet is queued (still followed), and an older version's completed allocation is not counted", async () => {
    nomad = await startNomad({ allocations: {} });
    const first = await merge(jobFile(""));
    expect(first.r.state).toBe("queued");
    // A new version (another image) is submitted: version 0's completed allocation is history.
    const { r } = await merge(jobFile("").replace(`:2@${D2}`, `:3@${D2}`));
    expect([r.state, r.description]).toEqual(["queued", "v1: batch job, no allocation placed yet"]);
  });

  it("a periodic job registers a template: success, its runs are child jobs", async () => {
    nomad = await startNomad({});
    const { r } = await merge(jobFile(`  periodic {\n    crons = ["0 3 * * *"]\n  }\n`));
    expect([r.state, r.description]).toEqual([
      "success",
      "v0: periodic batch job registered; its runs start as child jobs",
    ]);
  });

  it("re-merging the same batch job (Nomad keeps it, and a completed batch job is 'dead'): the allocations say success, not 'the job is dead'", async () => {
    nomad = await startNomad({ allocations: { nightly: ["complete"] } });
    await merge(jobFile(""));
    const { r } = await merge(jobFile(""));
    expect([r.state, r.description]).toEqual([
      "success",
      "unchanged, Nomad already had this version: v0: batch job, 1/1 complete",
    ]);
  });
});

describe("which jobs are rolled out by allocations", () => {
  const job = (over: Partial<NomadJob>): NomadJob => ({ ID: "x", TaskGroups: [{ Name: "g" }], ...over });
  it("every type but service, and a service job whose groups all turn deployments off", () => {
    expect(rolledOutByAllocations(job({ Type: "service" }))).toBe(false);
    expect(rolledOutByAllocations(job({ Type: "batch" }))).toBe(true);
    expect(rolledOutByAllocations(job({ Type: "sysbatch" }))).toBe(true);
    expect(rolledOutByAllocations(job({ Type: "system" }))).toBe(true);
    expect(
      rolledOutByAllocations(
        job({ Type: "service", TaskGroups: [{ Name: "g", Update: { MaxParallel: 0 } }] }),
      ),
    ).toBe(true);
    expect(
      rolledOutByAllocations(
        job({
          Type: "service",
          TaskGroups: [
            { Name: "a", Update: { MaxParallel: 0 } },
            { Name: "b", Update: { MaxParallel: 1 } },
          ],
        }),
      ),
    ).toBe(false);
  });

  it("a system job is done when its allocations run; a replaced failure is history", () => {
    const alloc = (ClientStatus: string, extra: Record<string, unknown> = {}) => ({
      ID: `${ClientStatus}-1`,
      Name: "n",
      TaskGroup: "g",
      ClientStatus,
      JobVersion: 2,
      ...extra,
    });
    const s = summarizeAllocations(job({ Type: "system", Version: 2 }), [
      alloc("running"),
      alloc("running"),
      alloc("failed", { NextAllocation: "replacement" }),
    ]);
    expect([s.state, s.description]).toEqual(["success", "v2: system job, 2/2 running"]);
  });
});

// Jobs without a Nomad deployment: batch and sysbatch jobs never get one, and system jobs did not before
// Nomad 1.11. For them, "did the rollout work" is read from the allocations of the version in question
// (GET /v1/job/:id/allocations), not waited for as a deployment that never comes. A periodic or
// parameterized job only registers a template: its runs are child jobs, so registering is the rollout.
import { type RolloutSummary, taskFailures } from "./summary.js";
import type { NomadAllocation, NomadJob } from "./types.js";

/**
 * True when the job's rollout is not a Nomad deployment: every type but `service`, and a service job
 * whose every group sets `update { max_parallel = 0 }` (which turns deployments off).
 */
export function rolledOutByAllocations(job: NomadJob): boolean {
  if (job.Type !== undefined && job.Type !== "service") return true;
  const groups = job.TaskGroups ?? [];
  return groups.length > 0 && groups.every((g) => g.Update?.MaxParallel === 0);
}

/**
 * The rollout of `job` (the version the cluster holds) from its allocations. Batch and sysbatch succeed
 * when every allocation of the version completed; system when every one runs. A failed allocation that
 * Nomad replaced (NextAllocation) is history, not the outcome.
 */
export function summarizeAllocations(job: NomadJob, allocations: readonly NomadAllocation[]): RolloutSummary {
  const version = job.Version ?? null;
  const v = `v${version ?? "?"}`;
  const base = { deploymentId: null, jobVersion: version, groups: [] as RolloutSummary["groups"] };
  const template = job.Periodic != null || job.ParameterizedJob != null;
  if (template) {
    const kind = job.Periodic != null ? "periodic" : "parameterized";
    return {
      ...base,
      state: "success",
      nomadStatus: "registered",
      description: `${v}: ${kind} ${job.Type} job registered; its runs start as child jobs`,
      failures: [],
    };
  }
  const mine = allocations.filter(
    (a) => (version === null || a.JobVersion === version) && a.DesiredStatus !== "stop" && !a.NextAllocation,
  );
  const count = (status: string) => mine.filter((a) => a.ClientStatus === status).length;
  // Long-running kinds are done when they run; batch kinds when they completed.
  const done = job.Type === "batch" || job.Type === "sysbatch" ? "complete" : "running";
  const failed = mine.filter((a) => a.ClientStatus === "failed" || a.ClientStatus === "lost");
  const open = mine.filter(
    (a) => a.ClientStatus === "pending" || (done === "complete" && a.ClientStatus === "running"),
  );
  const failures = taskFailures(failed);
  const tally = [
    `${count(done)}/${mine.length} ${done}`,
    count("running") > 0 && done !== "running" && `${count("running")} running`,
    count("pending") > 0 && `${count("pending")} pending`,
    failed.length > 0 && `${failed.length} failed`,
  ]
    .filter(Boolean)
    .join(", ");
  const state: RolloutSummary["state"] =
    mine.length === 0
      ? "queued"
      : open.length > 0
        ? "in_progress"
        : failed.length > 0
          ? "failure"
          : "success";
  const description =
    mine.length === 0
      ? `${v}: ${job.Type ?? "service"} job, no allocation placed yet`
      : `${v}: ${job.Type ?? "service"} job, ${tally}`;
  return { ...base, state, nomadStatus: job.Status ?? "unknown", description, failures };
}

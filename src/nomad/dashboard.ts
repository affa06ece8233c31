// The cluster column of the deploy dashboard: per service, the digest each of its jobs runs (drift
// against what git pins) and the job's latest Nomad deployment. Never throws: a cluster that cannot be
// asked becomes a note, and the dashboard is still written.
import type { ClusterView } from "../core/dashboard.js";
import type { Plan } from "../core/plan.js";
import { type NomadClient, describeNomadError } from "./client.js";
import { checkDrift, pinnedSites } from "./report.js";

export async function clusterViews(
  client: Pick<NomadClient, "address" | "job" | "latestDeployment">,
  plan: Plan,
): Promise<{ address: string; services: Record<string, ClusterView>; note?: string }> {
  const services: Record<string, ClusterView> = {};
  const drift = await checkDrift(client, pinnedSites(plan));
  if (drift.note) return { address: client.address, services, note: drift.note };
  for (const entry of drift.entries) {
    const view = (services[entry.service] ??= { running: [] });
    view.running.push({
      job: entry.job,
      digest: entry.runningDigest,
      status: entry.status === "same" ? "same" : entry.status === "job-not-running" ? "missing" : "drift",
    });
  }
  let note: string | undefined;
  for (const [name, view] of Object.entries(services)) {
    const job = view.running.find((r) => r.status !== "missing")?.job;
    if (!job) continue;
    try {
      const d = await client.latestDeployment(job);
      services[name]!.rollout = d
        ? { job, version: d.JobVersion, status: d.Status, description: d.StatusDescription }
        : null;
    } catch (error) {
      note ??= `${describeNomadError(error)}: rollouts not read.`;
    }
  }
  return { address: client.address, services, ...(note ? { note } : {}) };
}

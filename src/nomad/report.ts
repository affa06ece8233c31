// During a deploy run: the plan preview of every changed job file and the drift check, as markdown
// for the sticky comment and the check run. Every Nomad problem becomes a note: the cluster being away
// never fails or blocks a deploy PR.
import type { Plan } from "../core/plan.js";
import type { ClusterReportPort } from "../core/ports.js";
import { type NomadClient, NomadApiError, describeNomadError, nomadClientFor } from "./client.js";
import { planIndexMarker } from "./preview-index.js";
import { type JobPlanResult, type PlanSection, renderDriftSection, renderPlanSection } from "./render.js";
import { type DriftEntry, type PinnedSite, compareDrift, pinnedSite, summarizePlan } from "./summary.js";
import type { NomadJob } from "./types.js";

export type NomadPort = Pick<NomadClient, "address" | "parse" | "plan" | "job">;

/** Errors after which asking about the next job is pointless (same cluster, same token). */
const fatal = (error: unknown) =>
  error instanceof NomadApiError &&
  (error.kind === "unreachable" || error.kind === "timeout" || error.kind === "acl");

/** parse + plan for each job file, in order; stops with a note at the first unreachable/ACL error. */
export async function planJobFiles(
  client: NomadPort,
  files: ReadonlyArray<{ path: string; text: string }>,
): Promise<PlanSection> {
  const jobs: JobPlanResult[] = [];
  for (const file of files) {
    let job: NomadJob | null = null;
    try {
      job = await client.parse(file.text);
      const response = await client.plan(job);
      jobs.push({
        file: file.path,
        job: job.ID,
        ok: true,
        summary: summarizePlan(job.ID, response),
        ...(response.JobModifyIndex !== undefined ? { modifyIndex: response.JobModifyIndex } : {}),
      });
    } catch (error) {
      if (fatal(error)) {
        return { address: client.address, note: `${describeNomadError(error)}: plan preview skipped.`, jobs };
      }
      jobs.push({ file: file.path, job: job?.ID ?? null, ok: false, error: describeNomadError(error) });
    }
  }
  return { address: client.address, jobs };
}

/** Job ID → the JobModifyIndex each successful plan names: what the merge's submit must still find. */
export function planIndexesOf(section: PlanSection): Map<string, number> {
  const indexes = new Map<string, number>();
  for (const j of section.jobs) if (j.ok && j.modifyIndex !== undefined) indexes.set(j.job, j.modifyIndex);
  return indexes;
}

/** Every pinned site of the plan's services that names its job (what git pins at the branch head). */
export function pinnedSites(plan: Plan): PinnedSite[] {
  const out: PinnedSite[] = [];
  for (const s of plan.services) {
    for (const site of [...s.sites, ...s.unmanaged]) {
      if (site.job !== null) out.push(pinnedSite(s, { ...site, job: site.job }));
    }
  }
  return out;
}

/** GET /v1/job/:id for each job the sites name (4 at a time), then the comparison. */
export async function checkDrift(
  client: Pick<NomadPort, "job">,
  sites: readonly PinnedSite[],
): Promise<{ entries: DriftEntry[]; note?: string }> {
  const ids = [...new Set(sites.map((s) => s.job))].sort();
  const jobs = new Map<string, NomadJob | null>();
  const queue = [...ids];
  let failure: unknown = null;
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined && failure === null; id = queue.shift()) {
      try {
        jobs.set(id, await client.job(id));
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, ids.length) }, worker));
  if (failure !== null) return { entries: [], note: `${describeNomadError(failure)}: drift not checked.` };
  return { entries: compareDrift(sites, jobs) };
}

export interface NomadRunReport {
  /** Appended to the sticky comment ("" when there is nothing to add). */
  comment: string;
  /** Appended to the PR body: the hidden plan-index marker ("" when no plan ran). */
  prBody: string;
  /** Appended to the check run summary. */
  check: string;
  drift: DriftEntry[];
}

/**
 * The Nomad parts of one deploy run: plan previews for the job files the run rewrites, drift for every
 * service. Never throws: whatever goes wrong ends up as a note in the markdown.
 */
export async function nomadRunReport(
  client: NomadPort,
  plan: Plan,
  changedJobFiles: ReadonlyArray<{ path: string; text: string }>,
): Promise<NomadRunReport> {
  try {
    const [section, drift] = await Promise.all([
      changedJobFiles.length > 0 ? planJobFiles(client, changedJobFiles) : null,
      checkDrift(client, pinnedSites(plan)),
    ]);
    return {
      comment: section ? renderPlanSection(section) : "",
      prBody: section ? planIndexMarker(planIndexesOf(section)) : "",
      check: renderDriftSection(client.address, drift.entries, drift.note),
      drift: drift.entries,
    };
  } catch (error) {
    const note = `Nomad report failed: ${describeNomadError(error)}`;
    return { comment: "", prBody: "", check: renderDriftSection(client.address, [], note), drift: [] };
  }
}

/** What one deploy run asks the cluster: the report's previews and drift, then the dashboard's view. */
export type RunNomadPort = NomadPort & Pick<NomadClient, "latestDeployment">;

/**
 * One deploy run's cluster access: each job is read once (GET /v1/job/:id), however many parts of the run
 * ask about it. The report's drift check and the dashboard's cluster column read the same jobs; a failed
 * read is remembered too, so an unreachable cluster costs one timeout per job, not two.
 */
export function readJobsOnce(client: RunNomadPort): RunNomadPort {
  const jobs = new Map<string, Promise<NomadJob | null>>();
  return {
    address: client.address,
    parse: (text) => client.parse(text),
    plan: (job) => client.plan(job),
    latestDeployment: (id) => client.latestDeployment(id),
    job(id) {
      let found = jobs.get(id);
      if (!found) jobs.set(id, (found = client.job(id)));
      return found;
    },
  };
}

/** The core's ClusterReportPort over one Nomad client. */
export function clusterReport(client: NomadPort): ClusterReportPort {
  return {
    async report(plan, changedJobFiles) {
      const { comment, check, prBody } = await nomadRunReport(client, plan, changedJobFiles);
      return { comment, check, prBody };
    },
  };
}

/**
 * The core's ClusterReportPort for a config's `nomad` section (NOMAD_TOKEN from `env`); undefined without
 * `nomad.address`, so nothing is asked.
 */
export function clusterReportFor(
  settings: Parameters<typeof nomadClientFor>[0],
  env?: Readonly<Record<string, string | undefined>>,
): ClusterReportPort | undefined {
  const client = nomadClientFor(settings, env);
  return client ? clusterReport(client) : undefined;
}

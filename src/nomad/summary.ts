// Pure: Nomad API responses → the small facts people need (what a plan replaces, where the cluster
// runs another digest than git pins, how a rollout went). No I/O here; rendering is in render.ts.
import type { ServiceSite } from "../core/discovery.js";
import { canonicalRepository, parseImageRef, repositoryOf } from "../image/reference.js";
import type {
  JobPlanResponse,
  NomadAllocation,
  NomadDeployment,
  NomadJob,
  ObjectDiff,
  FieldDiff,
  TaskEvent,
} from "./types.js";

// ---------------------------------------------------------------------------------------------- plan

export interface GroupPlan {
  name: string;
  /** From Annotations.DesiredTGUpdates: Place, Stop, InPlaceUpdate, DestructiveUpdate, Canary, Ignore. */
  create: number;
  destroy: number;
  inPlace: number;
  destructive: number;
  canary: number;
  ignore: number;
  /** The scheduler could not place every allocation (FailedTGAllocs names the group). */
  placementFailed: boolean;
}

export interface FieldChange {
  group: string | null;
  task: string | null;
  /** Dotted path inside the task/group/job: "Config.image", "Env[LOG]", "Count". */
  field: string;
  type: string;
  old: string;
  new: string;
}

export interface JobPlanSummary {
  job: string;
  /** The job diff's Type: Added (new job), Edited, None, Deleted. */
  diffType: string;
  groups: GroupPlan[];
  changes: FieldChange[];
  warnings: string[];
}

export function summarizePlan(job: string, response: JobPlanResponse): JobPlanSummary {
  const desired = response.Annotations?.DesiredTGUpdates ?? {};
  const failed = response.FailedTGAllocs ?? {};
  const groups = Object.keys(desired)
    .sort()
    .map((name): GroupPlan => {
      const d = desired[name] ?? {};
      return {
        name,
        create: d.Place ?? 0,
        destroy: d.Stop ?? 0,
        inPlace: d.InPlaceUpdate ?? 0,
        destructive: d.DestructiveUpdate ?? 0,
        canary: d.Canary ?? 0,
        ignore: d.Ignore ?? 0,
        placementFailed: name in failed,
      };
    });
  const changes: FieldChange[] = [];
  const diff = response.Diff;
  if (diff) {
    collect(changes, null, null, "", diff.Fields, diff.Objects);
    for (const tg of diff.TaskGroups ?? []) {
      collect(changes, tg.Name, null, "", tg.Fields, tg.Objects);
      for (const task of tg.Tasks ?? []) collect(changes, tg.Name, task.Name, "", task.Fields, task.Objects);
    }
  }
  const warnings = (response.Warnings ?? "")
    .split("\n")
    .map((w) => w.trim())
    .filter(Boolean);
  return { job, diffType: diff?.Type ?? "None", groups, changes, warnings };
}

function collect(
  out: FieldChange[],
  group: string | null,
  task: string | null,
  prefix: string,
  fields: FieldDiff[] | null | undefined,
  objects: ObjectDiff[] | null | undefined,
): void {
  for (const f of fields ?? []) {
    if (f.Type === "None") continue;
    out.push({ group, task, field: prefix + f.Name, type: f.Type, old: f.Old, new: f.New });
  }
  for (const o of objects ?? []) {
    if (o.Type === "None") continue;
    collect(out, group, task, `${prefix}${o.Name}.`, o.Fields, o.Objects);
  }
}

/** Allocations the plan would replace (destructive updates) and create/stop, summed over groups. */
export function planTotals(summary: JobPlanSummary): Omit<GroupPlan, "name" | "placementFailed"> {
  const total = { create: 0, destroy: 0, inPlace: 0, destructive: 0, canary: 0, ignore: 0 };
  for (const g of summary.groups) {
    total.create += g.create;
    total.destroy += g.destroy;
    total.inPlace += g.inPlace;
    total.destructive += g.destructive;
    total.canary += g.canary;
    total.ignore += g.ignore;
  }
  return total;
}

// --------------------------------------------------------------------------------------------- drift

/** One image site git pins (from the deploy branch's job files). */
export interface PinnedSite {
  service: string;
  file: string;
  job: string;
  group: string | null;
  task: string | null;
  /** The service's image repository: finds the task when group/task are not literal in the file. */
  repository: string;
  digest: string | null;
}

/** A service's site in a named job, as drift and rollouts compare it. */
export function pinnedSite(
  service: { name: string; image: string },
  site: ServiceSite & { job: string },
): PinnedSite {
  return {
    service: service.name,
    file: site.file,
    job: site.job,
    group: site.group,
    task: site.task,
    repository: service.image,
    digest: site.digest,
  };
}

export interface RunningImage {
  group: string;
  task: string;
  image: string;
}

/** The `image` of every task of a job as the cluster holds it (docker, podman, ... all use Config.image). */
export function imagesOfJob(job: NomadJob): RunningImage[] {
  const out: RunningImage[] = [];
  for (const g of job.TaskGroups ?? []) {
    for (const t of g.Tasks ?? []) {
      const image = t.Config?.image;
      if (typeof image === "string") out.push({ group: g.Name, task: t.Name, image });
    }
  }
  return out;
}

export type DriftStatus = "same" | "drift" | "job-not-running" | "task-not-found" | "unpinned-in-cluster";

export interface DriftEntry {
  service: string;
  file: string;
  job: string;
  group: string | null;
  task: string | null;
  pinned: string | null;
  /** The image reference the cluster's job holds, as written there. */
  running: string | null;
  runningDigest: string | null;
  status: DriftStatus;
}

/**
 * Compares each pinned site with the job the cluster holds (null: the cluster has no such job): by
 * group and task, else by the first task that runs an image of the service's repository.
 */
export function compareDrift(
  sites: readonly PinnedSite[],
  jobs: ReadonlyMap<string, NomadJob | null>,
): DriftEntry[] {
  return sites.map((site): DriftEntry => {
    const base = {
      service: site.service,
      file: site.file,
      job: site.job,
      group: site.group,
      task: site.task,
    };
    const job = jobs.get(site.job) ?? null;
    if (job === null) {
      return { ...base, pinned: site.digest, running: null, runningDigest: null, status: "job-not-running" };
    }
    const images = imagesOfJob(job);
    const match =
      images.find((i) => i.group === site.group && i.task === site.task) ??
      images.find((i) => inRepository(i.image, site.repository));
    if (!match) {
      return { ...base, pinned: site.digest, running: null, runningDigest: null, status: "task-not-found" };
    }
    const ref = parseImageRef(match.image);
    const runningDigest = ref?.digest ?? null;
    const status: DriftStatus =
      runningDigest === null ? "unpinned-in-cluster" : runningDigest === site.digest ? "same" : "drift";
    return { ...base, pinned: site.digest, running: match.image, runningDigest, status };
  });
}

/** Whether an image as the cluster holds it is in the given repository (docker.io spellings agree). */
export function inRepository(image: string, repository: string): boolean {
  const ref = parseImageRef(image);
  return ref !== null && canonicalRepository(repositoryOf(ref)) === canonicalRepository(repository);
}

// ------------------------------------------------------------------------------------------- rollout

/**
 * Where a rollout stands, in the bot's own words (which deployment-status states they become on GitHub is
 * src/github/deployments.ts's business): not started, going, succeeded, failed, or cancelled.
 */
export type RolloutState = "queued" | "in_progress" | "success" | "failure" | "inactive";

export interface RolloutFailure {
  allocation: string;
  group: string;
  task: string;
  /** "Driver Failure: failed to pull image", "Not Restarting: Exceeded allowed attempts …". */
  events: string[];
}

export interface RolloutSummary {
  state: RolloutState;
  deploymentId: string | null;
  jobVersion: number | null;
  /** Nomad's status and description ("failed: Failed due to unhealthy allocations"). */
  nomadStatus: string;
  description: string;
  groups: Array<{ name: string; desired: number; placed: number; healthy: number; unhealthy: number }>;
  failures: RolloutFailure[];
}

const STATE: Record<string, RolloutState> = {
  successful: "success",
  failed: "failure",
  cancelled: "inactive",
  running: "in_progress",
  paused: "in_progress",
  pending: "in_progress",
  initializing: "in_progress",
  blocked: "in_progress",
  unblocking: "in_progress",
};

export function summarizeRollout(
  deployment: NomadDeployment | null,
  allocations: readonly NomadAllocation[],
): RolloutSummary {
  if (deployment === null) {
    return {
      state: "queued",
      deploymentId: null,
      jobVersion: null,
      nomadStatus: "none",
      description: "no Nomad deployment for this job yet",
      groups: [],
      failures: [],
    };
  }
  const groups = Object.entries(deployment.TaskGroups ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => ({
      name,
      desired: s.DesiredTotal ?? 0,
      placed: s.PlacedAllocs ?? 0,
      healthy: s.HealthyAllocs ?? 0,
      unhealthy: s.UnhealthyAllocs ?? 0,
    }));
  const failures = taskFailures(
    allocations.filter((a) => a.ClientStatus === "failed" || a.DeploymentStatus?.Healthy === false),
  );
  const state = STATE[deployment.Status] ?? "in_progress";
  const healthy = groups.reduce((n, g) => n + g.healthy, 0);
  const desired = groups.reduce((n, g) => n + g.desired, 0);
  const detail = deployment.StatusDescription || deployment.Status;
  return {
    state,
    deploymentId: deployment.ID,
    jobVersion: deployment.JobVersion,
    nomadStatus: deployment.Status,
    description: `v${deployment.JobVersion}: ${detail} (${healthy}/${desired} healthy)`,
    groups,
    failures,
  };
}

/** The tasks of failed allocations that failed or have a telling event, in task-name order per allocation. */
export function taskFailures(failed: readonly NomadAllocation[]): RolloutFailure[] {
  const failures: RolloutFailure[] = [];
  for (const alloc of failed) {
    for (const [task, state] of Object.entries(alloc.TaskStates ?? {}).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      const events = (state.Events ?? []).map(describeEvent).filter((e): e is string => e !== null);
      if (state.Failed || events.length > 0) {
        failures.push({ allocation: alloc.ID, group: alloc.TaskGroup, task, events });
      }
    }
  }
  return failures;
}

/** An event that explains a failure, as one line; null for routine ones (Received, Started, ...). */
export function describeEvent(event: TaskEvent): string | null {
  const detail =
    event.DriverError ||
    event.SetupError ||
    event.DownloadError ||
    event.ValidationError ||
    event.KillError ||
    event.RestartReason ||
    "";
  const exit = event.Type === "Terminated" && event.ExitCode ? `exit code ${event.ExitCode}` : "";
  if (!detail && !exit && !event.FailsTask) return null;
  const text = [detail, exit, !detail && !exit ? event.DisplayMessage || event.Message || "" : ""]
    .filter(Boolean)
    .join(", ");
  return text ? `${event.Type}: ${text}` : event.Type;
}

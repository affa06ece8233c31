// The parts of Nomad's HTTP API objects this bot reads, as zod schemas: every response is parsed, never
// cast. Field names are Nomad's own (api/jobs.go, api/deployments.go, api/allocations.go); the fields the
// bot relies on are checked, everything else in a response is kept untouched (loose objects), so a job
// read from the cluster can be sent back whole.
import { z } from "zod";

const count = z.number().optional();
const list = <T extends z.ZodType>(item: T) => z.array(item).nullish();
const map = <T extends z.ZodType>(value: T) => z.record(z.string(), value).nullish();

export const NomadTask = z.looseObject({
  Name: z.string(),
  Driver: z.string().optional(),
  Config: z.record(z.string(), z.unknown()).nullish(),
});
export type NomadTask = z.infer<typeof NomadTask>;

export const NomadTaskGroup = z.looseObject({
  Name: z.string(),
  Count: count,
  Tasks: list(NomadTask),
  /** The group's update block; MaxParallel 0 turns deployments off for a service job. */
  Update: z.looseObject({ MaxParallel: z.number().optional() }).nullish(),
});
export type NomadTaskGroup = z.infer<typeof NomadTaskGroup>;

/** A job as /v1/jobs/parse returns it and /v1/job/:id, /v1/job/:id/plan, /v1/jobs accept or return it. */
export const NomadJob = z.looseObject({
  ID: z.string(),
  Name: z.string().optional(),
  Namespace: z.string().optional(),
  Region: z.string().optional(),
  Type: z.string().optional(),
  Version: z.number().optional(),
  Status: z.string().optional(),
  /** Raft index of the job's last change: what a check-and-set submit names. */
  JobModifyIndex: z.number().optional(),
  TaskGroups: list(NomadTaskGroup),
  /** Set on a periodic or parameterized job: a template whose runs are child jobs. */
  Periodic: z.unknown().optional(),
  ParameterizedJob: z.unknown().optional(),
});
export type NomadJob = z.infer<typeof NomadJob>;

export const FieldDiff = z.looseObject({
  Type: z.string(),
  Name: z.string(),
  Old: z.string(),
  New: z.string(),
  Annotations: list(z.string()),
});
export type FieldDiff = z.infer<typeof FieldDiff>;

export interface ObjectDiff {
  Type: string;
  Name: string;
  Fields?: FieldDiff[] | null | undefined;
  Objects?: ObjectDiff[] | null | undefined;
}
export const ObjectDiff: z.ZodType<ObjectDiff> = z.looseObject({
  Type: z.string(),
  Name: z.string(),
  Fields: list(FieldDiff),
  get Objects() {
    return list(ObjectDiff);
  },
});

export const TaskDiff = z.looseObject({
  Type: z.string(),
  Name: z.string(),
  Fields: list(FieldDiff),
  Objects: list(ObjectDiff),
  Annotations: list(z.string()),
});
export type TaskDiff = z.infer<typeof TaskDiff>;

export const TaskGroupDiff = z.looseObject({
  Type: z.string(),
  Name: z.string(),
  Fields: list(FieldDiff),
  Objects: list(ObjectDiff),
  Tasks: list(TaskDiff),
  /** "create", "destroy", "in-place update", "create/destroy update", "ignore", "migrate", "canary" → count. */
  Updates: map(z.number()),
});
export type TaskGroupDiff = z.infer<typeof TaskGroupDiff>;

export const JobDiff = z.looseObject({
  Type: z.string(),
  ID: z.string(),
  Fields: list(FieldDiff),
  Objects: list(ObjectDiff),
  TaskGroups: list(TaskGroupDiff),
});
export type JobDiff = z.infer<typeof JobDiff>;

export const DesiredUpdates = z.looseObject({
  Ignore: count,
  Place: count,
  Migrate: count,
  Stop: count,
  InPlaceUpdate: count,
  DestructiveUpdate: count,
  Canary: count,
  Preemptions: count,
});
export type DesiredUpdates = z.infer<typeof DesiredUpdates>;

export const JobPlanResponse = z.looseObject({
  JobModifyIndex: z.number().optional(),
  Diff: JobDiff.nullish(),
  Annotations: z.looseObject({ DesiredTGUpdates: map(DesiredUpdates) }).nullish(),
  /** Task group → why placements failed (resources, constraints). */
  FailedTGAllocs: map(z.unknown()),
  Warnings: z.string().optional(),
});
export type JobPlanResponse = z.infer<typeof JobPlanResponse>;

export const JobRegisterResponse = z.looseObject({
  EvalID: z.string(),
  EvalCreateIndex: z.number().optional(),
  JobModifyIndex: z.number(),
  Warnings: z.string().optional(),
});
export type JobRegisterResponse = z.infer<typeof JobRegisterResponse>;

export const DeploymentState = z.looseObject({
  DesiredTotal: count,
  PlacedAllocs: count,
  HealthyAllocs: count,
  UnhealthyAllocs: count,
});
export type DeploymentState = z.infer<typeof DeploymentState>;

export const NomadDeployment = z.looseObject({
  ID: z.string(),
  JobID: z.string(),
  JobVersion: z.number(),
  /** The job's JobModifyIndex when the deployment was created: tells a new version's deployment apart. */
  JobModifyIndex: z.number().optional(),
  /** running, paused, failed, successful, cancelled, pending, blocked, unblocking, initializing */
  Status: z.string(),
  StatusDescription: z.string(),
  TaskGroups: map(DeploymentState),
});
export type NomadDeployment = z.infer<typeof NomadDeployment>;

export const TaskEvent = z.looseObject({
  Type: z.string(),
  Time: z.number(),
  FailsTask: z.boolean().optional(),
  Message: z.string().optional(),
  DisplayMessage: z.string().optional(),
  DriverError: z.string().optional(),
  SetupError: z.string().optional(),
  DownloadError: z.string().optional(),
  ValidationError: z.string().optional(),
  KillError: z.string().optional(),
  RestartReason: z.string().optional(),
  ExitCode: z.number().optional(),
});
export type TaskEvent = z.infer<typeof TaskEvent>;

export const TaskState = z.looseObject({
  State: z.string(),
  Failed: z.boolean(),
  Events: list(TaskEvent),
});
export type TaskState = z.infer<typeof TaskState>;

export const NomadAllocation = z.looseObject({
  ID: z.string(),
  Name: z.string(),
  TaskGroup: z.string(),
  ClientStatus: z.string(),
  DesiredStatus: z.string().optional(),
  TaskStates: map(TaskState),
  DeploymentStatus: z.looseObject({ Healthy: z.boolean().nullish() }).nullish(),
  /** The job version the allocation runs (job allocation lists carry it). */
  JobVersion: z.number().optional(),
  /** Set when Nomad replaced this allocation (a reschedule): the replacement is the outcome. */
  NextAllocation: z.string().nullish(),
});
export type NomadAllocation = z.infer<typeof NomadAllocation>;

export const NomadAllocations = z.array(NomadAllocation);

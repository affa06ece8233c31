// The parts of Nomad's HTTP API objects this bot reads. Field names are Nomad's own (api/jobs.go,
// api/deployments.go, api/allocations.go); everything else in the responses is passed through untouched.

/** A job as /v1/jobs/parse returns it and /v1/job/:id, /v1/job/:id/plan, /v1/jobs accept or return it. */
export interface NomadJob {
  ID: string;
  Name?: string;
  Namespace?: string;
  Region?: string;
  Type?: string;
  Version?: number;
  Status?: string;
  TaskGroups?: NomadTaskGroup[] | null;
  [key: string]: unknown;
}

export interface NomadTaskGroup {
  Name: string;
  Count?: number;
  Tasks?: NomadTask[] | null;
  [key: string]: unknown;
}

export interface NomadTask {
  Name: string;
  Driver?: string;
  Config?: Record<string, unknown> | null;
  [key: string]: unknown;
}

export interface FieldDiff {
  Type: string;
  Name: string;
  Old: string;
  New: string;
  Annotations?: string[] | null;
}

export interface ObjectDiff {
  Type: string;
  Name: string;
  Fields?: FieldDiff[] | null;
  Objects?: ObjectDiff[] | null;
}

export interface TaskDiff {
  Type: string;
  Name: string;
  Fields?: FieldDiff[] | null;
  Objects?: ObjectDiff[] | null;
  Annotations?: string[] | null;
}

export interface TaskGroupDiff {
  Type: string;
  Name: string;
  Fields?: FieldDiff[] | null;
  Objects?: ObjectDiff[] | null;
  Tasks?: TaskDiff[] | null;
  /** "create", "destroy", "in-place update", "create/destroy update", "ignore", "migrate", "canary" → count. */
  Updates?: Record<string, number> | null;
}

export interface JobDiff {
  Type: string;
  ID: string;
  Fields?: FieldDiff[] | null;
  Objects?: ObjectDiff[] | null;
  TaskGroups?: TaskGroupDiff[] | null;
}

export interface DesiredUpdates {
  Ignore?: number;
  Place?: number;
  Migrate?: number;
  Stop?: number;
  InPlaceUpdate?: number;
  DestructiveUpdate?: number;
  Canary?: number;
  Preemptions?: number;
}

export interface JobPlanResponse {
  JobModifyIndex?: number;
  Diff?: JobDiff | null;
  Annotations?: { DesiredTGUpdates?: Record<string, DesiredUpdates> | null } | null;
  /** Task group → why placements failed (resources, constraints). */
  FailedTGAllocs?: Record<string, unknown> | null;
  Warnings?: string;
  [key: string]: unknown;
}

export interface JobRegisterResponse {
  EvalID: string;
  EvalCreateIndex?: number;
  JobModifyIndex: number;
  Warnings?: string;
  [key: string]: unknown;
}

export interface DeploymentState {
  DesiredTotal?: number;
  PlacedAllocs?: number;
  HealthyAllocs?: number;
  UnhealthyAllocs?: number;
  [key: string]: unknown;
}

export interface NomadDeployment {
  ID: string;
  JobID: string;
  JobVersion: number;
  /** The job's JobModifyIndex when the deployment was created: tells a new version's deployment apart. */
  JobModifyIndex?: number;
  /** running, paused, failed, successful, cancelled, pending, blocked, unblocking, initializing */
  Status: string;
  StatusDescription: string;
  TaskGroups?: Record<string, DeploymentState> | null;
  [key: string]: unknown;
}

export interface TaskEvent {
  Type: string;
  Time: number;
  FailsTask?: boolean;
  Message?: string;
  DisplayMessage?: string;
  DriverError?: string;
  SetupError?: string;
  DownloadError?: string;
  ValidationError?: string;
  KillError?: string;
  RestartReason?: string;
  ExitCode?: number;
  [key: string]: unknown;
}

export interface TaskState {
  State: string;
  Failed: boolean;
  Events?: TaskEvent[] | null;
  [key: string]: unknown;
}

export interface NomadAllocation {
  ID: string;
  Name: string;
  TaskGroup: string;
  ClientStatus: string;
  DesiredStatus?: string;
  TaskStates?: Record<string, TaskState> | null;
  DeploymentStatus?: { Healthy?: boolean | null; [key: string]: unknown } | null;
  [key: string]: unknown;
}

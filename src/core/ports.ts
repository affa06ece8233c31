// What runDeploy takes and gives: the ports the shells plug their adapters into (App: GitHub API,
// registry client, Nomad API; CLI: working tree, local git, local archives), the run's options and its
// result. Nothing here knows about Probot, Octokit, git or the filesystem.
import type { ProvingRegistry } from "./moved.js";
import type { Config } from "../config/schema.js";
import type { Explanation } from "../explain/types.js";
import type { FileChange } from "./edits.js";
import type { Plan, Relation } from "./plan.js";
import type { CommitMessage } from "./pin-records.js";
import type { Commit, CommitLog } from "./release-notes.js";
import type { CheckRunOutput } from "./render.js";
import type { BuildInfo } from "./templates.js";
import type { ProvenanceOptions } from "./provenance.js";

/** The repository at one revision (App: GitHub API at the branch head; CLI: working tree + git). */
export interface RepoPort {
  /** Repository-relative paths of the files matching any glob. */
  listFiles(globs: string[]): Promise<string[]>;
  /**
   * Texts of the files that exist (missing ones are left out of the map). A file that cannot be read
   * as text (binary, too large for the API, unreadable) maps to the reason: an error for it alone.
   */
  readFiles(paths: string[]): Promise<Map<string, string | Unreadable>>;
  /** Commits in from..to (from excluded) that touch any of the path globs, newest first. */
  commitsTouching(from: string, to: string, paths: string[]): Promise<Commit[]>;
  /** Where `head` stands relative to `base`; absent → "unknown" (no never-downgrade check). */
  compare?(base: string, head: string): Promise<Relation>;
  /**
   * The commits that touched any of `paths` (exact file paths), newest first, with their whole
   * messages, at the revision read, up to 100 per path: where the deploy commit that wrote a
   * digest-only pin is found (see pin-records.ts). Absent → such pins record no commit.
   */
  deployCommits?(paths: string[]): Promise<CommitMessage[]>;
}

export interface Unreadable {
  unreadable: string;
}

/** What both shells say of a job file that is a symlink (mode 120000): never followed, never replaced. */
export const SYMLINK_NOT_FOLLOWED: Unreadable = {
  unreadable:
    "is a symlink; not followed (the bot reads and edits regular files only: pin the file it points to)",
};

/** The registry calls a run needs: a subset of src/registry's RegistryClient, so it plugs in directly. */
/**
 * `digest` is the cheap claim (one HEAD); `prove`/`identity` (ProvingRegistry) back every digest that
 * gets written.
 */
export interface RegistryPort extends ProvingRegistry {
  digest(ref: string): Promise<string>;
  retag(
    ref: string,
    tags: string[],
  ): Promise<Array<{ tag: string; status: "created" | "exists"; digest: string }>>;
}

/** Local image sources (`--images`: docker-archive:PATH, oci:DIR): compare without upload, push. */
export interface ImageSourcePort {
  sameImage(source: string, ref: string): Promise<{ same: boolean; reason: string }>;
  /**
   * Reads the archive (throws when it is missing or unreadable) and returns the digest a push will
   * give it when that is fixed by the archive (an OCI layout is pushed as it is), else null.
   */
  localDigest(source: string): Promise<string | null>;
  push(source: string, ref: string): Promise<{ digest: string; pushed: boolean }>;
}

/** Explains moves no commit accounts for (non-reproducible builds). */
export interface ExplainerPort {
  explain(a: string, b: string): Promise<Explanation>;
}

/**
 * The cluster's view of a run (src/nomad implements it when `nomad.address` is set): plan previews of
 * the rewritten job files for the comment, drift for the check run. Never throws: problems become notes.
 */
export interface ClusterReportPort {
  report(
    plan: Plan,
    changedJobFiles: ReadonlyArray<{ path: string; text: string }>,
  ): Promise<{
    comment: string;
    check: string;
    /** Hidden in the PR body (the plan preview's job modify indexes, for the merge's check-and-set). */
    prBody?: string;
  }>;
}

/**
 * A GitHub deployment status, for each way a rollout can stand, and "error": it could not be asked or
 * submitted.
 */
export type DeploymentState = "queued" | "in_progress" | "success" | "failure" | "inactive" | "error";

/**
 * GitHub's deployments API as rollouts use it (src/github/deployments.ts implements it; src/nomad
 * reports and follows through it). GitHub's own statuses are the durable state of a rollout follow-up.
 */
export interface DeploymentsPort {
  create(input: {
    ref: string;
    environment: string;
    description: string;
    payload: Record<string, unknown>;
  }): Promise<number>;
  status(id: number, input: { state: DeploymentState; description: string }): Promise<void>;
  /**
   * The deployments this bot already made for the merge commit in the environment, newest first: a
   * redelivered webhook finds them here and creates nothing again.
   */
  existing(input: { ref: string; environment: string }): Promise<ExistingDeployment[]>;
  /** The deployment's newest status (null: none yet): checked before posting, so none is posted twice. */
  latest(id: number): Promise<{ state: string; description: string } | null>;
  /**
   * The bot's deployments (in the environment, when given) created since `since`, newest first, whose
   * newest status is queued or in_progress: the rollout follow-ups a replica that starts takes over.
   */
  unfinished(input: { environment?: string; since: Date }): Promise<UnfinishedDeployment[]>;
}

/** A deployment an earlier delivery created, read back from the payload it wrote. */
export interface ExistingDeployment {
  id: number;
  service: string;
  job: string;
}

/** One service in one job that a deployment reports on, as its payload records it. */
export interface DeploymentTarget {
  service: string;
  job: string;
  /** The job file (absent in payloads written before follow-ups could be resumed). */
  file?: string;
  digest: string | null;
  /** The JobModifyIndex the bot's submit got (with nomad.submit). */
  submit_index?: number;
}

export interface UnfinishedDeployment {
  id: number;
  environment: string;
  /** The merge commit. */
  sha: string;
  createdAt: Date;
  targets: DeploymentTarget[];
  /** Its newest status. */
  state: "queued" | "in_progress";
  description: string;
}

export interface Clock {
  now(): Date;
}

export type ProgressEvent =
  | { kind: "scan"; files: number; services: number }
  | { kind: "service"; service: string; step: "resolve" | "push" | "retag"; done: boolean; detail?: string };

export interface DeployOptions {
  config: Config;
  build: BuildInfo;
  repo: RepoPort;
  registry: RegistryPort;
  /** plan: read-only; apply: push moved archives, retag unchanged images, create missing pinned tags. */
  mode: "plan" | "apply";
  /** `--images`: service → source; services not in it are resolved by tag. */
  images?: { sources: Readonly<Record<string, string>>; port: ImageSourcePort };
  /** The commit the edits are based on (deploy branch head): a build behind it changes nothing. */
  base?: string;
  repoUrl?: string;
  clock?: Clock;
  /** Also validate every job file with hcl2-parser while scanning (slower; see scanJobFiles). */
  strictScan?: boolean;
  /** Explains moves no commit accounts for; absent → they are only flagged. */
  explainer?: ExplainerPort;
  /** Adds the cluster's view to the comment and check run; absent → nothing is asked. */
  cluster?: ClusterReportPort;
  /** Where attestations are looked up when `provenance` is required; absent → moved digests are unverified. */
  provenance?: ProvenanceOptions;
  /** Parallel registry calls (default 8). */
  concurrency?: number;
  onProgress?(event: ProgressEvent): void;
}

export interface RegistryAction {
  service: string;
  action: "push" | "retag";
  ref: string;
  tags?: string[];
  result: "pushed" | "skipped" | "created" | "exists" | "failed";
  detail?: string;
}

export interface DeployResult {
  plan: Plan;
  /** Changed files with their new texts: job files, then release notes files. */
  files: FileChange[];
  /** This deploy's release notes section ("" when nothing changed). */
  releaseNotes: string;
  commits: Record<string, CommitLog>;
  prTitle: string;
  prBody: string;
  comment: string;
  check: CheckRunOutput;
  /** The message of the one commit both shells write (App: rolling branch; CLI: `apply --commit`). */
  commitMessage: string;
  registry: RegistryAction[];
  /** Set when the whole build was skipped (older than `base`). */
  skipped?: string;
}

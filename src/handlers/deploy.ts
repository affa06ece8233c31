// One deploy for a successful build: the core pipeline plans it against the deploy branch head (through
// GitHub ports), handlers/decisions.ts decides what that means for the PR, and this carries it out: one
// commit on the rolling branch, the PR, its labels, the sticky comment, the check run. Every write is
// skipped when GitHub already shows the same result, so a redelivered event changes nothing.
import { redact } from "../secrets/redact.js";
import type { Context } from "probot";
import type { Config } from "../config/schema.js";
import { runDeploy } from "../core/pipeline.js";
import type { Clock, DeployOptions, DeployResult, ExplainerPort, RegistryPort } from "../core/ports.js";
import { type ExplainRegistry, createExplainer } from "../explain/inspect.js";
import { createRegistryClient } from "../registry/index.js";
import { nomadClientFor } from "../nomad/client.js";
import { type RunNomadPort, clusterReport, readJobsOnce } from "../nomad/report.js";
import { type Attempt, CheckRuns } from "../github/checks.js";
import { StickyComment } from "../github/comment.js";
import { writeDeployBranch } from "../github/commit.js";
import { RefRaceError } from "../github/errors.js";
import { GitHubRepoPort } from "../github/ports.js";
import { type PullRequestInfo, PullRequests } from "../github/pr.js";
import { DraftReleases } from "../github/release.js";
import { type BranchState, GitHubRepo } from "../github/repo.js";
import type { Octokit, RepoCoords } from "../github/types.js";
import { githubProvenance } from "../github/attestations.js";
import { coordsOf } from "./context.js";
import { updateDashboard } from "./dashboard.js";
import {
  branchMissingCheck,
  closeComment,
  decide,
  finalCheck,
  humanBranchCheck,
  humanBranchNote,
  releaseDraft,
  skippedCheck,
} from "./decisions.js";

export interface DeployDeps {
  /** Default: a registry client configured from the process environment (auth files, insecure hosts). */
  registry?: RegistryPort;
  /** Default: the build commit's timestamp when known (redelivery renders the same notes), else now. */
  clock?: Clock;
  /** Where NOMAD_TOKEN is read from (default: process.env); the address comes from `nomad` in the config. */
  nomadEnv?: Readonly<Record<string, string | undefined>>;
  /** Explains non-reproducible moves. Default: from the registry client when it can read blobs. */
  explainer?: ExplainerPort;
  /** The bot's login (`<slug>[bot]`): GitHub then lists only the bot's issues when finding the dashboard. */
  botLogin?: () => Promise<string | undefined>;
}

/** Where a deploy runs: the App's webhook context, or the Action's workflow token. */
export interface DeployTarget {
  octokit: Octokit;
  coords: RepoCoords;
  log: DeployLog;
  /** https://github.com/owner/repo, for commit links. */
  repoUrl?: string;
  /** The repository's numeric id (event payload, GITHUB_REPOSITORY_ID): provenance is bound to it. */
  repositoryId?: string;
}

export interface DeployLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface DeployRequest {
  config: Config;
  branch: string;
  /** The built commit. */
  sha: string;
  /** Date the release notes carry; the build commit's timestamp keeps re-runs byte-identical. */
  date?: Date;
  /** Which attempt this is: it owns one check run on the commit (github/checks.ts). */
  attempt: Attempt;
  /** The dashboard's "retag unchanged now": registry writes and the dashboard only, no commit or PR. */
  retagOnly?: boolean;
  /** Local images to compare and push (the Action's `images` input), as the CLI's `--images`. */
  images?: DeployOptions["images"];
}

export type DeployOutcome =
  | "skipped"
  | "no-change"
  | "closed-pr"
  | "human-branch"
  | "committed"
  | "unchanged"
  | "branch-missing"
  /** The attempt's check run is completed already (a redelivery), or a later attempt has its own. */
  | "already-done"
  | "retagged";

// One client per process: it keeps registry tokens and per-host limits across events.
let defaultRegistry: RegistryPort | undefined;

export async function deploy(
  context: Context,
  deps: DeployDeps,
  request: DeployRequest,
): Promise<DeployOutcome> {
  const repository = (context.payload as { repository?: { html_url?: string; id?: number } }).repository;
  const repoUrl = repository?.html_url;
  const target: DeployTarget = {
    octokit: context.octokit,
    coords: coordsOf(context),
    log: context.log,
    ...(repoUrl ? { repoUrl } : {}),
    ...(repository?.id ? { repositoryId: String(repository.id) } : {}),
  };
  return (await deployTo(target, deps, request)).outcome;
}

/** What a deploy did: the Action's outputs and summary are made of it. */
export interface DeployReport {
  outcome: DeployOutcome;
  /** Absent when nothing was planned (branch gone, attempt already done). */
  result?: DeployResult;
  /** The open deploy PR afterwards (as far as this run knows). */
  pr: { number: number; url: string } | null;
}

/** One deploy for any GitHub client (the App's installation, the Action's workflow token). */
export async function deployTo(
  target: DeployTarget,
  deps: DeployDeps,
  request: DeployRequest,
): Promise<DeployReport> {
  const { coords, octokit } = target;
  const checks = new CheckRuns(octokit, coords);
  const started = await checks.start(request.sha, request.attempt, "in_progress");
  if ("skip" in started) {
    target.log.info(
      { sha: request.sha, check_run: started.skip.id, why: started.skip.kind },
      "nothing to do",
    );
    return { outcome: "already-done", pr: null };
  }
  const checkId = started.id;
  const client = nomadClientFor(request.config.nomad, deps.nomadEnv);
  const nomad = client ? readJobsOnce(client) : undefined;
  const run: Run = { target, deps, request, coords, octokit, checks, checkId, nomad };
  try {
    try {
      return await deployOnce(run);
    } catch (error) {
      // Another replica (or a human) moved the branch between our read and our write: plan again, once.
      if (!(error instanceof RefRaceError)) throw error;
      target.log.warn({ branch: error.ref }, "branch moved during the update; planning again");
      return await deployOnce(run);
    }
  } catch (error) {
    await checks.complete(checkId, "failure", {
      title: "The deploy run failed",
      summary: `Nothing was left half-written (the branch moves only in one final step).\n\n\`\`\`\n${describeError(error)}\n\`\`\``,
    });
    throw error;
  }
}

/** One deploy's collaborators, fixed for its attempts. */
interface Run {
  target: DeployTarget;
  deps: DeployDeps;
  request: DeployRequest;
  coords: RepoCoords;
  octokit: Octokit;
  checks: CheckRuns;
  checkId: number;
  /** With `nomad.address`: the cluster, each job read once for the report and the dashboard. */
  nomad: RunNomadPort | undefined;
}

async function deployOnce(run: Run): Promise<DeployReport> {
  const { request, checks, checkId } = run;
  const repo = new GitHubRepo(run.octokit, run.coords);
  const state = await repo.branches(request.branch, request.config.pr.branch);
  if (!hasBase(state)) {
    await checks.complete(checkId, "neutral", branchMissingCheck(request.branch, request.sha));
    return { outcome: "branch-missing", pr: null };
  }
  const port = new GitHubRepoPort(repo, state.base.sha, state.base.tree);
  const result = await plan(run, port, state);
  // The build is older than what the PR already carries: report, change nothing.
  if (result.skipped) {
    await checks.complete(checkId, "neutral", skippedCheck(result));
    return { outcome: "skipped", result, pr: null };
  }
  const pulls = new PullRequests(run.octokit, run.coords);
  const open = await pulls.findOpen(request.config.pr.branch, request.branch);
  let outcome: DeployOutcome;
  let pr = open ? { number: open.number, url: open.url } : null;
  if (request.retagOnly) {
    // The registry writes happened in the plan (apply mode); the PR is left as it is.
    await checks.complete(checkId, result.check.conclusion, finalCheck(result, null));
    outcome = "retagged";
  } else {
    const decision = decide(result, state.head, open !== null);
    switch (decision.kind) {
      case "nothing-moved":
        outcome = await closeIfDone(run, repo, state, result, decision.closePr ? open : null);
        if (outcome === "closed-pr") pr = null;
        break;
      case "human-branch":
        outcome = await reportHumanBranch(run, result, open);
        break;
      case "write": {
        const written = await writeDeploy(run, { repo, port, state, result, open });
        outcome = written.outcome;
        pr = written.pr;
        break;
      }
    }
  }
  if (request.config.dashboard) await writeDashboard(run, result, state.base.sha, pr);
  return { outcome, result, pr };
}

/** The dashboard is a view: failing to write it never fails the deploy that already happened. */
async function writeDashboard(
  run: Run,
  result: DeployResult,
  base: string,
  pr: { number: number; url: string } | null,
): Promise<void> {
  const { request, deps, target } = run;
  try {
    await updateDashboard({
      octokit: run.octokit,
      coords: run.coords,
      result,
      base,
      pr,
      now: (deps.clock ?? { now: () => request.date ?? new Date() }).now(),
      ...(target.repoUrl ? { repoUrl: target.repoUrl } : {}),
      ...(deps.botLogin ? { creator: await deps.botLogin().catch(() => undefined) } : {}),
      ...(run.nomad ? { nomad: run.nomad } : {}),
    });
  } catch (error) {
    target.log.warn({ error: describeError(error) }, "deploy dashboard not updated");
  }
}

/** The core pipeline against the deploy branch head, with the optional Nomad report added. */
async function plan(run: Run, port: GitHubRepoPort, state: PlannableState): Promise<DeployResult> {
  const { request, deps, target } = run;
  const { sha, branch, config } = request;
  const repoUrl = target.repoUrl;
  const registry = deps.registry ?? (defaultRegistry ??= createRegistryClient());
  const explainer = deps.explainer ?? (canReadBlobs(registry) ? createExplainer(registry) : undefined);
  const cluster = run.nomad ? clusterReport(run.nomad) : undefined;
  // Only asked for moved or new digests, and only when the config requires provenance.
  const provenance = config.provenance?.require
    ? githubProvenance(
        run.octokit,
        run.coords,
        target.repositoryId,
        canReadBlobs(registry) ? registry : undefined,
      )
    : undefined;
  const result = await runDeploy({
    config,
    build: { sha, branch },
    repo: port,
    registry,
    ...(explainer ? { explainer } : {}),
    ...(request.images ? { images: request.images } : {}),
    mode: "apply",
    // The bot's PR is based on a deploy branch commit: a build older than that is an older push finishing late.
    ...(state.head?.ownedByBot && state.head.parents[0] ? { base: state.head.parents[0] } : {}),
    ...(repoUrl ? { repoUrl } : {}),
    clock: deps.clock ?? { now: () => request.date ?? new Date() },
    // Optional Nomad access: plan previews in the comment, drift in the check run; never fails the run.
    ...(cluster ? { cluster } : {}),
    ...(provenance ? { provenance } : {}),
  });
  target.log.info(
    {
      sha,
      branch,
      counts: result.plan.counts,
      files: result.files.length,
      skipped: Boolean(result.skipped),
    },
    "deploy planned",
  );
  return result;
}

async function closeIfDone(
  run: Run,
  repo: GitHubRepo,
  state: PlannableState,
  result: DeployResult,
  toClose: PullRequestInfo | null,
): Promise<DeployOutcome> {
  const { request } = run;
  if (toClose) {
    const pulls = new PullRequests(run.octokit, run.coords);
    await pulls.close(toClose.number, closeComment(request.branch, state.base.sha, request.sha));
    if (state.head?.ownedByBot) await repo.deleteBranch(request.config.pr.branch);
  }
  await run.checks.complete(
    run.checkId,
    result.check.conclusion,
    finalCheck(result, toClose ? { closed: toClose.number } : null),
  );
  return toClose ? "closed-pr" : "no-change";
}

async function reportHumanBranch(
  run: Run,
  result: DeployResult,
  open: PullRequestInfo | null,
): Promise<DeployOutcome> {
  const prBranch = run.request.config.pr.branch;
  const note = humanBranchNote(prBranch, run.request.sha, result);
  if (open) await new StickyComment(run.octokit, run.coords).upsert(open.number, note);
  await run.checks.complete(run.checkId, "neutral", humanBranchCheck(prBranch, note, result));
  return "human-branch";
}

async function writeDeploy(
  run: Run,
  input: {
    repo: GitHubRepo;
    port: GitHubRepoPort;
    state: PlannableState;
    result: DeployResult;
    open: PullRequestInfo | null;
  },
): Promise<{ outcome: DeployOutcome; pr: { number: number; url: string } }> {
  const { request, octokit, coords } = run;
  const { config, branch, sha } = request;
  const { result, open } = input;
  const changes = await Promise.all(
    result.files.map(async (f) => ({
      path: f.path,
      content: f.after,
      mode: await input.port.modeOf(f.path),
    })),
  );
  const committed = await writeDeployBranch(input.repo, input.state, {
    branch: config.pr.branch,
    changes,
    message: result.commitMessage,
  });
  const pulls = new PullRequests(octokit, coords);
  const pr = await pulls.upsert({
    existing: open,
    head: config.pr.branch,
    base: branch,
    title: result.prTitle,
    body: result.prBody,
  });
  await pulls.addLabels(pr.number, open?.labels ?? [], config.pr.labels);
  await new StickyComment(octokit, coords).upsert(pr.number, result.comment);
  if (config.release_notes.github_release === "draft") {
    const draft = releaseDraft({ sha, branch }, result);
    await new DraftReleases(octokit, coords).upsert(sha, draft.name, draft.body);
  }
  await run.checks.complete(run.checkId, result.check.conclusion, finalCheck(result, { written: pr.number }));
  run.target.log.info({ sha, pr: pr.number, pr_action: pr.action, committed }, "deploy PR written");
  return { outcome: committed ? "committed" : "unchanged", pr: { number: pr.number, url: pr.url } };
}

type PlannableState = BranchState & { base: NonNullable<BranchState["base"]> };

function hasBase(state: BranchState): state is PlannableState {
  return state.base !== null;
}

/** An error for the check run: its message only, redacted (a server may have echoed a credential). */
export function describeError(error: unknown): string {
  return redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);
}

/** A real registry client (not a digest-only stand-in) can also explain moves. */
function canReadBlobs(registry: RegistryPort): registry is RegistryPort & ExplainRegistry {
  const r = registry as Partial<ExplainRegistry>;
  return typeof r.blob === "function" && typeof r.manifest === "function";
}

// One deploy for a successful build: the core pipeline plans it against the deploy branch head (through
// GitHub ports), handlers/decisions.ts decides what that means for the PR, and this carries it out: one
// commit on the rolling branch, the PR, its labels, the sticky comment, the check run. Every write is
// skipped when GitHub already shows the same result, so a redelivered event changes nothing.
import { redact } from "../secrets/redact.js";
import type { Context } from "probot";
import type { Config } from "../config/schema.js";
import { runDeploy } from "../core/pipeline.js";
import type { Clock, DeployResult, ExplainerPort, RegistryPort } from "../core/ports.js";
import { type ExplainRegistry, createExplainer } from "../explain/inspect.js";
import { createRegistryClient } from "../registry/index.js";
import { clusterReportFor } from "../nomad/report.js";
import { type Attempt, CheckRuns } from "../github/checks.js";
import { StickyComment } from "../github/comment.js";
import { writeDeployBranch } from "../github/commit.js";
import { RefRaceError } from "../github/errors.js";
import { GitHubRepoPort } from "../github/ports.js";
import { type PullRequestInfo, PullRequests } from "../github/pr.js";
import { DraftReleases } from "../github/release.js";
import { type BranchState, GitHubRepo } from "../github/repo.js";
import type { Octokit, RepoCoords } from "../github/types.js";
import { coordsOf } from "./context.js";
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
  | "already-done";

// One client per process: it keeps registry tokens and per-host limits across events.
let defaultRegistry: RegistryPort | undefined;

export async function deploy(
  context: Context,
  deps: DeployDeps,
  request: DeployRequest,
): Promise<DeployOutcome> {
  const coords = coordsOf(context);
  const checks = new CheckRuns(context.octokit, coords);
  const started = await checks.start(request.sha, request.attempt, "in_progress");
  if ("skip" in started) {
    context.log.info(
      { sha: request.sha, check_run: started.skip.id, why: started.skip.kind },
      "nothing to do",
    );
    return "already-done";
  }
  const checkId = started.id;
  const run: Run = { context, deps, request, coords, octokit: context.octokit, checks, checkId };
  try {
    try {
      return await deployOnce(run);
    } catch (error) {
      // Another replica (or a human) moved the branch between our read and our write: plan again, once.
      if (!(error instanceof RefRaceError)) throw error;
      context.log.warn({ branch: error.ref }, "branch moved during the update; planning again");
      return await deployOnce(run);
    }
  } catch (error) {
    await checks.complete(checkId, "failure", {
      title: "The deploy run failed",
      summary: `Nothing was left half-written (the branch moves only in one final step).\n\n\`\`\`\n${describe(error)}\n\`\`\``,
    });
    throw error;
  }
}

/** One deploy's collaborators, fixed for its attempts. */
interface Run {
  context: Context;
  deps: DeployDeps;
  request: DeployRequest;
  coords: RepoCoords;
  octokit: Octokit;
  checks: CheckRuns;
  checkId: number;
}

async function deployOnce(run: Run): Promise<DeployOutcome> {
  const { request, checks, checkId } = run;
  const repo = new GitHubRepo(run.octokit, run.coords);
  const state = await repo.branches(request.branch, request.config.pr.branch);
  if (!hasBase(state)) {
    await checks.complete(checkId, "neutral", branchMissingCheck(request.branch, request.sha));
    return "branch-missing";
  }
  const port = new GitHubRepoPort(repo, state.base.sha, state.base.tree);
  const result = await plan(run, port, state);
  // The build is older than what the PR already carries: report, change nothing.
  if (result.skipped) {
    await checks.complete(checkId, "neutral", skippedCheck(result));
    return "skipped";
  }
  const pulls = new PullRequests(run.octokit, run.coords);
  const open = await pulls.findOpen(request.config.pr.branch, request.branch);
  const decision = decide(result, state.head, open !== null);
  switch (decision.kind) {
    case "nothing-moved":
      return closeIfDone(run, repo, state, result, decision.closePr ? open : null);
    case "human-branch":
      return reportHumanBranch(run, result, open);
    case "write":
      return writeDeploy(run, { repo, port, state, result, open });
  }
}

/** The core pipeline against the deploy branch head, with the optional Nomad report added. */
async function plan(run: Run, port: GitHubRepoPort, state: PlannableState): Promise<DeployResult> {
  const { request, deps, context } = run;
  const { sha, branch, config } = request;
  const repoUrl = (context.payload as { repository?: { html_url?: string } }).repository?.html_url;
  const registry = deps.registry ?? (defaultRegistry ??= createRegistryClient());
  const explainer = deps.explainer ?? (canReadBlobs(registry) ? createExplainer(registry) : undefined);
  const cluster = clusterReportFor(config.nomad, deps.nomadEnv);
  const result = await runDeploy({
    config,
    build: { sha, branch },
    repo: port,
    registry,
    ...(explainer ? { explainer } : {}),
    mode: "apply",
    // The bot's PR is based on a deploy branch commit: a build older than that is an older push finishing late.
    ...(state.head?.ownedByBot && state.head.parents[0] ? { base: state.head.parents[0] } : {}),
    ...(repoUrl ? { repoUrl } : {}),
    clock: deps.clock ?? { now: () => request.date ?? new Date() },
    // Optional Nomad access: plan previews in the comment, drift in the check run; never fails the run.
    ...(cluster ? { cluster } : {}),
  });
  context.log.info(
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
): Promise<DeployOutcome> {
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
  run.context.log.info({ sha, pr: pr.number, pr_action: pr.action, committed }, "deploy PR written");
  return committed ? "committed" : "unchanged";
}

type PlannableState = BranchState & { base: NonNullable<BranchState["base"]> };

function hasBase(state: BranchState): state is PlannableState {
  return state.base !== null;
}

/** An error for the check run: its message only, redacted (a server may have echoed a credential). */
function describe(error: unknown): string {
  return redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);
}

/** A real registry client (not a digest-only stand-in) can also explain moves. */
function canReadBlobs(registry: RegistryPort): registry is RegistryPort & ExplainRegistry {
  const r = registry as Partial<ExplainRegistry>;
  return typeof r.blob === "function" && typeof r.manifest === "function";
}

// One deploy for a successful build: the core pipeline plans it against the deploy branch head (through
// GitHub ports), handlers/decisions.ts decides what that means for the PR, and this carries it out: one
// commit on the rolling branch, the PR, its labels, the sticky comment, the check run. Every write is
// skipped when GitHub already shows the same result, so a redelivered event changes nothing.
import { redact } from "../secrets/redact.js";
import type { Context } from "probot";
import type { Config } from "../config/schema.js";
import { runDeploy } from "../core/pipeline.js";
import { renderReleaseDraft } from "../core/render.js";
import type { Clock, DeployOptions, DeployResult, ExplainerPort, RegistryPort } from "../core/ports.js";
import { type ExplainRegistry, createExplainer } from "../explain/inspect.js";
import { createRegistryClient } from "../registry/index.js";
import { nomadClientFor } from "../nomad/client.js";
import { type RunNomadPort, clusterReport, readJobsOnce } from "../nomad/report.js";
import { type Attempt, type AttemptRun, CheckRuns } from "../github/checks.js";
import { StickyComment } from "../github/comment.js";
import { RefRaceError, describeGitHubError } from "../github/errors.js";
import { WriteJournal } from "../github/journal.js";
import {
  MissingPermissionError,
  type PermissionCheck,
  assertPermissions,
  installationPermissions,
} from "../github/permissions.js";
import { GitHubRepoPort } from "../github/ports.js";
import { type PullRequestInfo, PullRequests } from "../github/pr.js";
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
  skippedCheck,
} from "./decisions.js";
import { DeployFailedError, writeDeployInOrder } from "./write-deploy.js";

export { DeployFailedError } from "./write-deploy.js";

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
  /** What the token may write, asked before the first deploy write (github/permissions.ts). */
  permissions?: PermissionCheck;
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
    permissions: installationPermissions(context.octokit),
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
  const journal = new WriteJournal();
  // The branch heads and the open PR do not depend on the check run: read all three at once, so that on
  // GitHub's latency they cost one round trip (wasted reads when the attempt turns out to be done).
  const reads = firstReads(octokit, coords, request);
  let started: Awaited<ReturnType<CheckRuns["claim"]>>;
  try {
    started = await checks.claim(request.sha, request.attempt);
  } catch (error) {
    // Reading (or creating) the check run is refused, e.g. `checks` not granted: nothing else was tried.
    throw new DeployFailedError(error, journal);
  }
  if ("skip" in started) {
    target.log.info(
      { sha: request.sha, check_run: started.skip.id, why: started.skip.kind },
      "nothing to do",
    );
    return { outcome: "already-done", pr: null };
  }
  const check = started.run;
  const client = nomadClientFor(request.config.nomad, deps.nomadEnv);
  const nomad = client ? readJobsOnce(client) : undefined;
  // Asked once, just before the first write after the check run: a missing permission stops the run
  // with the permission named, and a run that writes nothing else (nothing moved) asks nothing.
  let asked: Promise<void> | undefined;
  const permitted = () =>
    target.permissions
      ? (asked ??= assertPermissions(target.permissions, request.config, request.retagOnly))
      : Promise.resolve();
  const run: Run = { target, deps, request, coords, octokit, checks, check, nomad, journal, permitted };
  try {
    try {
      return await deployOnce(run, reads);
    } catch (error) {
      // Another replica (or a human) moved the branch between our read and our write: plan again, once.
      if (!(error instanceof RefRaceError)) throw error;
      target.log.warn({ branch: error.ref }, "branch moved during the update; planning again");
      return await deployOnce(run, firstReads(octokit, coords, request));
    }
  } catch (error) {
    const failure = new DeployFailedError(error, journal);
    const output = {
      title:
        error instanceof MissingPermissionError
          ? "The token lacks a permission: nothing was written"
          : "The deploy run failed",
      summary: `${failure.report ? `${failure.report}\n\n` : ""}\`\`\`\n${describeError(error)}\n\`\`\``,
    };
    // The report goes on the attempt's own run; if even that is refused, the error still carries it.
    await checks.complete(check, "failure", output).catch((e: unknown) => {
      target.log.warn({ error: describeError(e) }, "the failure could not be written to the check run");
    });
    throw failure;
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
  /** The attempt's check run: completing it is the run's last write (and claims it when taken over). */
  check: AttemptRun;
  /** With `nomad.address`: the cluster, each job read once for the report and the dashboard. */
  nomad: RunNomadPort | undefined;
  /** Every deploy write, as it happens: the failure report is made of it. */
  journal: WriteJournal;
  /** Resolves when the token may make the deploy's writes; call before the first one (asked once). */
  permitted: () => Promise<void>;
}

/** What a deploy reads before planning, started together (see {@link deployTo}). */
interface FirstReads {
  repo: GitHubRepo;
  state: Promise<BranchState>;
  open: Promise<PullRequestInfo | null>;
}

function firstReads(octokit: Octokit, coords: RepoCoords, request: DeployRequest): FirstReads {
  const repo = new GitHubRepo(octokit, coords);
  const prBranch = request.config.pr.branch;
  const reads = {
    repo,
    state: repo.branches(request.branch, prBranch),
    open: new PullRequests(octokit, coords).findOpen(prBranch, request.branch),
  };
  // Awaited when needed; a run that stops before (attempt done, check run refused) must not leave them
  // as unhandled rejections.
  reads.state.catch(() => undefined);
  reads.open.catch(() => undefined);
  return reads;
}

async function deployOnce(run: Run, reads: FirstReads): Promise<DeployReport> {
  const { request, checks, check } = run;
  const { repo } = reads;
  const state = await reads.state;
  if (!hasBase(state)) {
    await checks.complete(check, "neutral", branchMissingCheck(request.branch, request.sha));
    return { outcome: "branch-missing", pr: null };
  }
  const port = new GitHubRepoPort(repo, state.base.sha, state.base.tree);
  const result = await plan(run, port, state);
  // The build is older than what the PR already carries: report, change nothing.
  if (result.skipped) {
    await checks.complete(check, "neutral", skippedCheck(result));
    return { outcome: "skipped", result, pr: null };
  }
  const open = await reads.open;
  let outcome: DeployOutcome;
  let pr = open ? { number: open.number, url: open.url } : null;
  if (request.retagOnly) {
    // The registry writes happened in the plan (apply mode); the PR is left as it is.
    await checks.complete(check, result.check.conclusion, finalCheck(result, null));
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
        await run.permitted();
        const written = await writeDeploy(run, { repo, port, state, result, open });
        outcome = written.outcome;
        pr = written.pr;
        break;
      }
    }
  }
  if (request.config.dashboard) {
    await run.permitted();
    await writeDashboard(run, result, state.base.sha, pr);
  }
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
    await run.permitted();
    const pulls = new PullRequests(run.octokit, run.coords);
    const prBranch = request.config.pr.branch;
    run.journal.plan([
      { key: "close", label: `PR #${toClose.number} closed with a comment` },
      ...(state.head?.ownedByBot ? [{ key: "delete", label: `branch \`${prBranch}\` deleted` }] : []),
    ]);
    await run.journal.write("close", () =>
      pulls.close(toClose.number, closeComment(request.branch, state.base.sha, request.sha)),
    );
    if (state.head?.ownedByBot) await run.journal.write("delete", () => repo.deleteBranch(prBranch));
  }
  await run.checks.complete(
    run.check,
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
  if (open) {
    await run.permitted();
    run.journal.plan([{ key: "comment", label: `PR #${open.number}'s sticky comment` }]);
    await run.journal.write("comment", () =>
      new StickyComment(run.octokit, run.coords).upsert(open.number, note),
    );
  }
  await run.checks.complete(run.check, "neutral", humanBranchCheck(prBranch, note, result));
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
  const draft =
    config.release_notes.github_release === "draft" ? renderReleaseDraft(result.plan, result) : null;
  const { committed, pr } = await writeDeployInOrder(
    {
      octokit,
      coords,
      repo: input.repo,
      state: input.state,
      base: branch,
      prBranch: config.pr.branch,
      changes,
      message: result.commitMessage,
      pr: { title: result.prTitle, body: result.prBody, labels: config.pr.labels, comment: result.comment },
      release: draft ? { sha, name: draft.name, body: draft.body } : null,
      open,
    },
    run.journal,
  );
  await run.checks.complete(run.check, result.check.conclusion, finalCheck(result, { written: pr.number }));
  run.target.log.info({ sha, pr: pr.number, pr_action: pr.action, committed }, "deploy PR written");
  return { outcome: committed ? "committed" : "unchanged", pr: { number: pr.number, url: pr.url } };
}

type PlannableState = BranchState & { base: NonNullable<BranchState["base"]> };

function hasBase(state: BranchState): state is PlannableState {
  return state.base !== null;
}

/** An error for the check run: its message only, redacted (a server may have echoed a credential). */
export function describeError(failure: unknown): string {
  // A failed deploy carries its report apart: the error here is what stopped it.
  const error = failure instanceof DeployFailedError ? failure.cause : failure;
  const text = error instanceof Error ? `${error.name}: ${describeGitHubError(error)}` : String(error);
  return redact(text).slice(0, 2000);
}

/** A real registry client (not a digest-only stand-in) can also explain moves. */
function canReadBlobs(registry: RegistryPort): registry is RegistryPort & ExplainRegistry {
  const r = registry as Partial<ExplainRegistry>;
  return typeof r.blob === "function" && typeof r.manifest === "function";
}

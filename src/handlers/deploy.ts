// One deploy for a successful build: the core pipeline plans it against the deploy branch head (through
// GitHub ports), then this writes the outcome back: one commit on the rolling branch, the PR, its labels,
// the sticky comment, the check run. Every write is skipped when GitHub already shows the same result, so a
// redelivered event changes nothing.
import type { Context } from "probot";
import type { Config } from "../config/schema.js";
import {
  type Clock,
  type DeployOptions,
  type DeployResult,
  type RegistryPort,
  runDeploy,
} from "../core/pipeline.js";
import { type ExplainRegistry, createExplainer } from "../explain/inspect.js";
import { changing } from "../core/plan.js";
import { shortDigest } from "../core/templates.js";
import { createRegistryClient } from "../registry/index.js";
import { addNomadReport } from "./nomad.js";
import { CheckRuns } from "../github/checks.js";
import { StickyComment } from "../github/comment.js";
import { GitHubRepoPort } from "../github/ports.js";
import { PullRequests } from "../github/pr.js";
import { DraftReleases, renderReleaseBody } from "../github/release.js";
import { type BranchState, type FileChange, GitHubRepo, RefRaceError } from "../github/repo.js";
import { coordsOf } from "./context.js";

export interface DeployDeps {
  /** Default: a registry client configured from the process environment (auth files, insecure hosts). */
  registry?: RegistryPort;
  /** Default: the build commit's timestamp when known (redelivery renders the same notes), else now. */
  clock?: Clock;
  /** Where NOMAD_TOKEN is read from (default: process.env); the address comes from `nomad` in the config. */
  nomadEnv?: Readonly<Record<string, string | undefined>>;
  /** Explains non-reproducible moves. Default: from the registry client when it can read blobs. */
  explainer?: DeployOptions["explainer"];
}

export interface DeployRequest {
  config: Config;
  branch: string;
  /** The built commit. */
  sha: string;
  buildUrl: string | null;
  /** Date the release notes carry; the build commit's timestamp keeps re-runs byte-identical. */
  date?: Date;
  /** A re-run asked for from the Checks tab gets a fresh check run; otherwise the commit's run is reused. */
  newCheckRun?: boolean;
}

export type DeployOutcome =
  "skipped" | "no-change" | "closed-pr" | "human-branch" | "committed" | "unchanged" | "branch-missing";

// One client per process: it keeps registry tokens and per-host limits across events.
let defaultRegistry: RegistryPort | undefined;

export async function deploy(
  context: Context,
  deps: DeployDeps,
  request: DeployRequest,
): Promise<DeployOutcome> {
  const coords = coordsOf(context);
  const checks = new CheckRuns(context.octokit, coords);
  const checkId = request.newCheckRun
    ? await checks.create(request.sha, "in_progress")
    : await checks.ensure(request.sha, "in_progress");
  try {
    try {
      return await deployOnce(context, deps, request, checkId);
    } catch (error) {
      // Another replica (or a human) moved the branch between our read and our write: plan again, once.
      if (!(error instanceof RefRaceError)) throw error;
      context.log.warn({ branch: error.ref }, "branch moved during the update; planning again");
      return await deployOnce(context, deps, request, checkId);
    }
  } catch (error) {
    await checks.complete(checkId, "failure", {
      title: "The deploy run failed",
      summary: `Nothing was left half-written (the branch moves only in one final step).\n\n\`\`\`\n${describe(error)}\n\`\`\``,
    });
    throw error;
  }
}

async function deployOnce(
  context: Context,
  deps: DeployDeps,
  request: DeployRequest,
  checkId: number,
): Promise<DeployOutcome> {
  const { config, branch, sha } = request;
  const coords = coordsOf(context);
  const octokit = context.octokit;
  const repo = new GitHubRepo(octokit, coords);
  const checks = new CheckRuns(octokit, coords);
  const prBranch = config.pr.branch;

  const state = await repo.branches(branch, prBranch);
  if (!state.base) {
    await checks.complete(checkId, "neutral", {
      title: `Branch ${branch} no longer exists`,
      summary: `The deploy branch \`${branch}\` was deleted before the build of ${sha.slice(0, 7)} finished.`,
    });
    return "branch-missing";
  }
  const port = new GitHubRepoPort(repo, state.base.sha, state.base.tree);
  const repoUrl = (context.payload as { repository?: { html_url?: string } }).repository?.html_url;
  const date = request.date;
  const clock = deps.clock ?? { now: () => date ?? new Date() };
  const registry = deps.registry ?? (defaultRegistry ??= createRegistryClient());
  const explainer = deps.explainer ?? (canReadBlobs(registry) ? createExplainer(registry) : undefined);
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
    clock,
  });
  // Optional Nomad access: plan previews in the comment, drift in the check run; never fails the run.
  await addNomadReport(config, result, deps.nomadEnv);
  const plan = result.plan;
  const moving = changing(plan);
  context.log.info(
    { sha, branch, counts: plan.counts, files: result.files.length, skipped: Boolean(result.skipped) },
    "deploy planned",
  );

  if (result.skipped) {
    await checks.complete(checkId, "neutral", {
      title: "Skipped: an older build",
      summary: `${result.skipped}\n\n${result.check.summary}`,
    });
    return "skipped";
  }

  const pulls = new PullRequests(octokit, coords);
  const open = await pulls.findOpen(prBranch, branch);
  const sticky = new StickyComment(octokit, coords);

  if (result.files.length === 0) {
    let outcome: DeployOutcome = "no-change";
    // Close only when the plan is complete (a registry or file error may hide a move the PR still carries)
    // and the branch is the bot's own (a PR someone added commits to is theirs to close).
    const complete =
      plan.counts.error === 0 &&
      plan.counts["not-built"] === 0 &&
      plan.counts.stale === 0 &&
      plan.fileErrors.length === 0;
    const ours = !state.head || state.head.ownedByBot;
    if (open && complete && ours) {
      await pulls.close(
        open.number,
        `No image moved compared with \`${branch}\` at ${state.base.sha.slice(0, 7)} (build ${sha.slice(0, 7)}): this deploy PR is no longer needed.`,
      );
      if (state.head?.ownedByBot) await repo.deleteBranch(prBranch);
      outcome = "closed-pr";
    }
    await checks.complete(checkId, result.check.conclusion, {
      title: result.check.title,
      summary:
        result.check.summary +
        (outcome === "closed-pr" ? `\nClosed #${open!.number}: nothing left to deploy.\n` : ""),
    });
    return outcome;
  }

  if (state.head && !state.head.ownedByBot) {
    // Someone pushed to the deploy branch: their work is not ours to overwrite.
    const note = [
      `> [!WARNING]`,
      `> \`${prBranch}\` has commits nomad-gitops did not make, so it was **not** updated. This is what the build of ${sha.slice(0, 7)} would change:`,
      "",
      result.comment.trimEnd(),
      "",
      "Files it would rewrite: " + result.files.map((f) => `\`${f.path}\``).join(", "),
      "",
      `Delete the branch, or merge the PR (merging deletes it), to let the bot take it over again.`,
    ].join("\n");
    if (open) await sticky.upsert(open.number, note);
    await checks.complete(checkId, "neutral", {
      title: `Not written: ${prBranch} was changed by someone else`,
      summary: `${note}\n\n${result.check.summary}`,
    });
    return "human-branch";
  }

  const changes: FileChange[] = await Promise.all(
    result.files.map(async (f) => ({ path: f.path, content: f.after, mode: await port.modeOf(f.path) })),
  );
  const committed = await writeBranch(repo, state, prBranch, changes, commitMessage(result), sha);
  const pr = await pulls.upsert({
    existing: open,
    head: prBranch,
    base: branch,
    title: result.prTitle,
    body: result.prBody,
  });
  await pulls.addLabels(pr.number, open?.labels ?? [], config.pr.labels);
  await sticky.upsert(pr.number, result.comment);
  if (config.release_notes.github_release === "draft") {
    const digests = plan.services.map((s) => ({
      service: s.name,
      image: s.image,
      digest: s.next?.digest ?? s.old.digest,
      status: s.status,
    }));
    await new DraftReleases(octokit, coords).upsert(
      sha,
      `Deploy ${sha.slice(0, 7)}: ${result.prTitle}`,
      renderReleaseBody({ sha, branch }, digests, result.releaseNotes),
    );
  }
  await checks.complete(checkId, result.check.conclusion, {
    title: result.check.title,
    summary: `${result.check.summary}\nDeploy PR: #${pr.number} (${moving.length} image${moving.length === 1 ? "" : "s"}).\n`,
  });
  context.log.info({ sha, pr: pr.number, pr_action: pr.action, committed }, "deploy PR written");
  return committed ? "committed" : "unchanged";
}

/**
 * One commit on top of the deploy branch head. Returns false when the branch already holds exactly this
 * (same tree, same parent): a redelivered event writes nothing.
 */
async function writeBranch(
  repo: GitHubRepo,
  state: BranchState,
  branch: string,
  changes: FileChange[],
  message: string,
  build: string,
): Promise<boolean> {
  const base = state.base!;
  const tree = await repo.createTree(base.tree, changes);
  if (state.head && state.head.tree === tree && state.head.parents[0] === base.sha) return false;
  const commit = await repo.createCommit({ tree, parent: base.sha, message, build });
  await repo.setBranch(state.repositoryId, branch, commit, state.head?.sha ?? null);
  return true;
}

function commitMessage(result: DeployResult): string {
  const lines = changing(result.plan).map(
    (s) =>
      `- ${s.name}: ${s.status === "new" ? "first pin" : shortDigest(s.old.digest)} -> ${shortDigest(s.next?.digest ?? null)} (${s.files.join(", ")})`,
  );
  return `${result.prTitle}\n\n${lines.join("\n")}`;
}

/** An error for the check run: message only (request errors carry no credentials in their message). */
function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/(gh[opsu]_|github_pat_)[A-Za-z0-9_]+/g, "$1***").slice(0, 2000);
}

/** A real registry client (not a digest-only stand-in) can also explain moves. */
function canReadBlobs(registry: RegistryPort): registry is RegistryPort & ExplainRegistry {
  const r = registry as Partial<ExplainRegistry>;
  return typeof r.blob === "function" && typeof r.manifest === "function";
}

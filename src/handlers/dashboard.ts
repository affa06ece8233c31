// The deploy dashboard (`dashboard: true`): written after each deploy run (App and Action), and its
// checkboxes: a person ticks "plan again" or "retag unchanged", the `issues.edited` event arrives, the
// bot unticks the box first (so a second edit does not run it twice) and runs the request, which then
// rewrites the dashboard.
import type { Context } from "probot";
import { readDashboard, renderDashboard, untickDashboard } from "../core/dashboard.js";
import type { DeployResult } from "../core/ports.js";
import { DashboardIssue, digestMoves } from "../github/dashboard.js";
import { GitHubRepo } from "../github/repo.js";
import type { Octokit, RepoCoords } from "../github/types.js";
import { clusterViews } from "../nomad/dashboard.js";
import type { RunNomadPort } from "../nomad/report.js";
import { coordsOf } from "./context.js";
import { type DeployDeps, deploy } from "./deploy.js";
import { openEvent } from "./opening.js";

export async function updateDashboard(input: {
  octokit: Octokit;
  coords: RepoCoords;
  result: DeployResult;
  /** The deploy branch head the run read. */
  base: string;
  pr: { number: number; url: string } | null;
  now: Date;
  repoUrl?: string;
  creator?: string | undefined;
  /** The run's cluster access (its job reads are the report's: nothing is asked twice). */
  nomad?: RunNomadPort;
}): Promise<{ number: number; url: string }> {
  const issue = new DashboardIssue(input.octokit, input.coords, input.creator);
  const found = await issue.find();
  const plan = input.result.plan;
  const [cluster, moves] = await Promise.all([
    input.nomad ? clusterViews(input.nomad, plan) : undefined,
    // The date column only: a history GitHub cannot give leaves it empty, the dashboard is still written.
    digestMoves(new GitHubRepo(input.octokit, input.coords), input.base, plan).catch(() => undefined),
  ]);
  const section = renderDashboard({
    plan: input.result.plan,
    base: input.base,
    pr: input.pr,
    ...(cluster ? { cluster } : {}),
    ...(moves ? { moves } : {}),
    now: input.now,
    ...(input.repoUrl ? { repoUrl: input.repoUrl } : {}),
  });
  return issue.upsert(section, found);
}

export async function onDashboardEdited(context: Context<"issues.edited">, deps: DeployDeps): Promise<void> {
  const { issue, sender, repository } = context.payload;
  // The bot's own edits (unticking, rewriting) arrive here too; only a person's ticks count.
  if (sender.type === "Bot" || issue.user?.type !== "Bot") return;
  if (readDashboard(issue.body).requests.length === 0) return;
  const coords = coordsOf(context);
  const dashboard = new DashboardIssue(context.octokit, coords);
  // The issue as it is now, not as this (possibly redelivered, possibly stale) event saw it: a tick the
  // bot already took in was unticked, and unticking the event's copy would undo later edits.
  const current = await dashboard.get(issue.number);
  const read = readDashboard(current.body);
  if (!read.present || read.requests.length === 0) return;
  await dashboard.setBody(current, untickDashboard(current.body));
  const branch = repository.default_branch;
  const state = await new GitHubRepo(context.octokit, coords).branches(branch, branch);
  if (!state.base) return;
  const opened = await openEvent(context, { sha: state.base.sha, branch, defaultBranch: branch });
  if (!opened?.config.dashboard) return;
  context.log.info({ issue: issue.number, requests: read.requests }, "dashboard request");
  await deploy(context, deps, {
    config: opened.config,
    branch,
    sha: state.base.sha,
    // One check run per edit that ticked a box, named by the edit whose ticks were read (the issue's, not
    // this event's: an older event may be the one that finds a newer tick): a retry finds it completed.
    attempt: { kind: "request", key: `${issue.number}:${current.updatedAt ?? issue.updated_at}` },
    // "Plan again" covers retagging too; "retag" alone leaves the PR as it is.
    retagOnly: !read.requests.includes("plan-again"),
  });
}

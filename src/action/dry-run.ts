// The Action's dry run: the plan a real run would make (against the deploy branch head, with the same
// never-downgrade base) and what it would then do with the deploy PR, from reads only. Nothing is written
// to GitHub or the registry: the pipeline runs in plan mode and the open PR is only looked up.
import type { Config } from "../config/schema.js";
import { runDeploy } from "../core/pipeline.js";
import type { DeployOptions, DeployResult, ExplainerPort, RegistryPort } from "../core/ports.js";
import { GitHubRepoPort } from "../github/ports.js";
import { PullRequests } from "../github/pr.js";
import type { GitHubRepo } from "../github/repo.js";
import type { Octokit, RepoCoords } from "../github/types.js";
import { decide } from "../handlers/decisions.js";

/** What a real run would do; `skipped`, `no-change` and `human-branch` are named as a real run names them. */
export type DryRunOutcome = "would-write" | "would-close-pr" | "no-change" | "human-branch" | "skipped";

export interface DryRunReport {
  outcome: DryRunOutcome;
  result: DeployResult;
  /** The deploy PR open now (a dry run leaves it as it is). */
  pr: { number: number; url: string } | null;
}

export interface DryRunInput {
  octokit: Octokit;
  coords: RepoCoords;
  repo: GitHubRepo;
  config: Config;
  sha: string;
  branch: string;
  registry: RegistryPort;
  explainer: ExplainerPort;
  images?: DeployOptions["images"];
  repoUrl: string;
  date?: Date;
  /** Where attestations are looked up when the config requires provenance (as a real run). */
  provenance?: DeployOptions["provenance"];
}

export class BranchMissingError extends Error {}

export async function dryRun(input: DryRunInput): Promise<DryRunReport> {
  const { repo, config, sha, branch } = input;
  const state = await repo.branches(branch, config.pr.branch);
  if (!state.base) throw new BranchMissingError(`branch ${branch} does not exist`);
  const [result, open] = await Promise.all([
    runDeploy({
      config,
      build: { sha, branch },
      repo: new GitHubRepoPort(repo, state.base.sha, state.base.tree),
      registry: input.registry,
      explainer: input.explainer,
      mode: "plan",
      ...(input.images ? { images: input.images } : {}),
      // As a real run: a build older than what the bot's PR was based on is reported as skipped.
      ...(state.head?.ownedByBot && state.head.parents[0] ? { base: state.head.parents[0] } : {}),
      repoUrl: input.repoUrl,
      ...(input.date ? { clock: { now: () => input.date! } } : {}),
      ...(input.provenance ? { provenance: input.provenance } : {}),
    }),
    new PullRequests(input.octokit, input.coords).findOpen(config.pr.branch, branch),
  ]);
  const pr = open ? { number: open.number, url: open.url } : null;
  return { outcome: wouldDo(result, state.head, open !== null), result, pr };
}

function wouldDo(
  result: DeployResult,
  head: Awaited<ReturnType<GitHubRepo["branches"]>>["head"],
  hasOpenPr: boolean,
): DryRunOutcome {
  if (result.skipped) return "skipped";
  const decision = decide(result, head, hasOpenPr);
  switch (decision.kind) {
    case "nothing-moved":
      return decision.closePr ? "would-close-pr" : "no-change";
    case "human-branch":
      return "human-branch";
    case "write":
      return "would-write";
  }
}

/** The summary's line on what a real run would have done, from the outcome and the open PR. */
export function dryRunSentence(report: DryRunReport): string {
  const files = report.result.files.length;
  const pr = report.pr ? `#${report.pr.number}` : null;
  switch (report.outcome) {
    case "would-write":
      return `A real run would commit ${files} file${files === 1 ? "" : "s"} to the deploy branch and ${pr ? `update ${pr}` : "open the deploy PR"}.`;
    case "would-close-pr":
      return `A real run would close ${pr}: no image moved.`;
    case "no-change":
      return "A real run would change no job file.";
    case "human-branch":
      return "A real run would not write: the deploy branch has commits nomad-gitops did not make.";
    case "skipped":
      return "A real run would skip this build: the deploy branch already carries a newer one.";
  }
}

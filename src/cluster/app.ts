// The two hooks the GitHub App handlers call; each is a no-op without `nomad.address` in the config.
import type { Config } from "../config/schema.js";
import type { DeployResult } from "../core/pipeline.js";
import { matchesAny } from "../core/glob.js";
import { GitHubRepo } from "../github/repo.js";
import type { Octokit, RepoCoords } from "../github/types.js";
import { fitText } from "../github/types.js";
import { nomadClientFor } from "./client.js";
import { GitHubDeployments } from "./github.js";
import { nomadRunReport } from "./report.js";
import { type RolloutResult, reportRollouts } from "./rollout.js";

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Adds the "Nomad plan" section to the run's sticky comment and the drift table to its check run
 * summary, in place. Without `nomad.address` nothing is asked and nothing changes.
 */
export async function addNomadReport(config: Config, result: DeployResult, env?: Env): Promise<void> {
  const client = nomadClientFor(config.nomad, env);
  if (!client) return;
  const changed = result.skipped
    ? []
    : result.files.filter((f) => f.edits.length > 0).map((f) => ({ path: f.path, text: f.after }));
  const report = await nomadRunReport(client, result.plan, changed);
  if (report.comment) result.comment = `${result.comment.trimEnd()}\n\n${report.comment}`;
  if (report.check) {
    result.check = {
      ...result.check,
      summary: fitText(`${result.check.summary.trimEnd()}\n\n${report.check}`),
    };
  }
}

/**
 * A merged deploy PR: its job files (read at the merge commit) are optionally submitted, then each moved
 * service gets a GitHub Deployment with its Nomad rollout status at this moment.
 */
export async function onDeployMerged(input: {
  octokit: Octokit;
  coords: RepoCoords;
  config: Config;
  pullNumber: number;
  mergeSha: string;
  env?: Env;
}): Promise<RolloutResult[]> {
  const client = nomadClientFor(input.config.nomad, input.env);
  if (!client) return [];
  const changed = await input.octokit.paginate(input.octokit.rest.pulls.listFiles, {
    ...input.coords,
    pull_number: input.pullNumber,
    per_page: 100,
  });
  const paths = changed
    .filter((f) => f.status !== "removed" && matchesAny(f.filename, input.config.jobs))
    .map((f) => f.filename)
    .sort();
  if (paths.length === 0) return [];
  const texts = await new GitHubRepo(input.octokit, input.coords).readTexts(input.mergeSha, paths);
  const files = paths.flatMap((path) => {
    const text = texts.get(path);
    return typeof text === "string" ? [{ path, text }] : [];
  });
  return reportRollouts({
    config: input.config,
    client,
    deployments: new GitHubDeployments(input.octokit, input.coords),
    sha: input.mergeSha,
    files,
  });
}

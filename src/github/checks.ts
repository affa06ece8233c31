// The `nomad-gitops` check run on a commit: created queued at push, moved to in_progress when the build
// finished, completed with the plan as summary. Found again by name + sha, so redelivered events and
// re-runs reuse the one run instead of stacking new ones.
import { CHECK_NAME, fitText, type Octokit, type RepoCoords } from "./types.js";
import { upsert } from "./upsert.js";

export type CheckConclusion = "success" | "failure" | "neutral" | "cancelled" | "skipped" | "action_required";

export interface CheckOutput {
  title: string;
  summary: string;
  text?: string;
}

export interface FoundCheckRun {
  id: number;
  status: string;
}

export class CheckRuns {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
  ) {}

  /** The newest `nomad-gitops` run on `sha`, or null. */
  async find(sha: string): Promise<FoundCheckRun | null> {
    const { data } = await this.octokit.rest.checks.listForRef({
      ...this.coords,
      ref: sha,
      check_name: CHECK_NAME,
      filter: "latest",
      per_page: 1,
    });
    const run = data.check_runs[0];
    return run ? { id: run.id, status: run.status } : null;
  }

  async create(sha: string, status: "queued" | "in_progress", output?: CheckOutput): Promise<number> {
    const { data } = await this.octokit.rest.checks.create({
      ...this.coords,
      name: CHECK_NAME,
      head_sha: sha,
      status,
      ...(output ? { output: limit(output) } : {}),
    });
    return data.id;
  }

  /** Reuses the run on `sha` (whatever its state) or creates one: redelivery must not add runs. */
  async ensure(sha: string, status: "queued" | "in_progress", output?: CheckOutput): Promise<number> {
    const { result } = await upsert(
      {
        find: () => this.find(sha),
        same: () => false,
        create: () => this.create(sha, status, output),
        update: async (found) => {
          await this.octokit.rest.checks.update({
            ...this.coords,
            check_run_id: found.id,
            status,
            ...(output ? { output: limit(output) } : {}),
          });
          return found.id;
        },
        keep: (found) => found.id,
      },
      null,
    );
    return result;
  }

  async complete(id: number, conclusion: CheckConclusion, output: CheckOutput): Promise<void> {
    await this.octokit.rest.checks.update({
      ...this.coords,
      check_run_id: id,
      status: "completed",
      conclusion,
      output: limit(output),
    });
  }

  /** A finished run in one request (config checks on PRs, failures before anything was queued). */
  async completed(sha: string, conclusion: CheckConclusion, output: CheckOutput): Promise<number> {
    const { data } = await this.octokit.rest.checks.create({
      ...this.coords,
      name: CHECK_NAME,
      head_sha: sha,
      status: "completed",
      conclusion,
      output: limit(output),
    });
    return data.id;
  }
}

function limit(output: CheckOutput): CheckOutput {
  return {
    title: output.title.slice(0, 255),
    summary: fitText(output.summary),
    ...(output.text !== undefined ? { text: fitText(output.text) } : {}),
  };
}

// The step every deploy-related event starts with: the config at the commit the event is about, and the
// one invalid-config policy. Whatever the event (push, workflow_run, a re-run from the Checks tab), a
// broken config is reported the same way, once, on that commit.
import type { Context } from "probot";
import type { Config, ConfigError } from "../config/schema.js";
import { CheckRuns } from "../github/checks.js";
import type { RepoCoords } from "../github/types.js";
import { configFailure, deployBranches, loadConfig } from "./config.js";
import { coordsOf } from "./context.js";
import { isMergeQueueBranch } from "./merge-group.js";

export interface Opened {
  config: Config;
  coords: RepoCoords;
  checks: CheckRuns;
}

/**
 * The config at `sha` when it deploys `branch`, else null:
 * - no config file in the repository nor the organisation: the App is installed but not set up here, so
 *   it stays quiet;
 * - an invalid config: a failed check run on `sha` quoting every key and its problem, when `branch` is
 *   one the broken file could deploy ({@link claimsBranch}); nothing else happens;
 * - a valid config whose deploy branches do not include `branch`: ignored;
 * - a merge queue branch (`gh-readonly-queue/…`): ignored before anything is read.
 */
export async function openEvent(
  context: Context,
  at: { sha: string; branch: string; defaultBranch: string },
): Promise<Opened | null> {
  // The merge queue's trial merges are never deployed, whatever `branches` lists (merge-group.ts checks them).
  if (isMergeQueueBranch(at.branch)) return null;
  const coords = coordsOf(context);
  const loaded = await loadConfig(context.octokit, coords, at.sha);
  if (loaded.status === "absent") return null;
  const checks = new CheckRuns(context.octokit, coords);
  if (loaded.status === "invalid") {
    if (claimsBranch(loaded.raw, at.branch, at.defaultBranch)) await reportInvalid(checks, at, loaded.errors);
    return null;
  }
  if (!deployBranches(loaded.config, at.defaultBranch).includes(at.branch)) return null;
  return { config: loaded.config, coords, checks };
}

async function reportInvalid(checks: CheckRuns, at: { sha: string }, errors: ConfigError[]): Promise<void> {
  await checks.completed(at.sha, "failure", configFailure(errors));
}

/**
 * Which branches deploy is itself in the broken file: the failure is reported where it matters, on the
 * default branch and on any branch the raw file names.
 */
export function claimsBranch(raw: unknown, branch: string, defaultBranch: string): boolean {
  if (branch === defaultBranch) return true;
  const branches =
    typeof raw === "object" && raw !== null ? (raw as { branches?: unknown }).branches : undefined;
  return Array.isArray(branches) && branches.includes(branch);
}

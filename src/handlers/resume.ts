// Rollout follow-ups that outlive a process: a replica that starts (and, with replicas sharing Redis,
// every few minutes) lists the bot's recent deployments whose newest status is queued or in_progress and
// follows them on, claiming each first so only one replica does. GitHub's statuses are the state.
import type { Probot } from "probot";
import type { Config } from "../config/schema.js";
import type { UnfinishedDeployment } from "../core/ports.js";
import { GitHubDeployments } from "../github/deployments.js";
import { listInstallationRepos, listInstallations } from "../github/installations.js";
import { GitHubRepo } from "../github/repo.js";
import type { Octokit, RepoCoords } from "../github/types.js";
import { nomadClientFor } from "../nomad/client.js";
import { type Scheduler, isTerminal } from "../nomad/follow.js";
import {
  type FollowClaims,
  type FollowLog,
  type TrackedDeployment,
  followDeployments,
} from "../nomad/follow-deployments.js";
import { type RolloutTarget, rolloutTargets } from "../nomad/rollout.js";
import { loadConfig } from "./config.js";
import { type Env, claimKey } from "./nomad.js";

/** How far back a start looks: the longest follow window (180 min) and an hour's outage. */
export const RESUME_WINDOW_MINUTES = 240;
/** With shared claims that do not say: how often a replica sweeps for follow-ups a killed one dropped. */
export const SWEEP_MINUTES = 5;

export interface ResumeDeps {
  scheduler: Scheduler;
  claims: FollowClaims;
  log: FollowLog;
  env?: Env;
}

/**
 * One repository: its unfinished deployments (`found`, from GitHub) followed on where the config still
 * asks for it. Each job file is read at the merge commit for the pinned sites. Returns how many were
 * handed to a follow-up (detached), which takes only those it can claim.
 */
export async function resumeRepoRollouts(
  input: ResumeDeps & { octokit: Octokit; coords: RepoCoords; config: Config; found: UnfinishedDeployment[] },
): Promise<number> {
  const minutes = input.config.nomad?.follow_minutes ?? 0;
  const client = nomadClientFor(input.config.nomad, input.env);
  if (!client || minutes === 0) return 0;
  const environment = input.config.nomad?.environment ?? "production";
  const wallNow = Date.now();
  const clockNow = input.scheduler.now();
  const repo = new GitHubRepo(input.octokit, input.coords);
  const targetsAt = new Map<string, RolloutTarget[]>();
  const tracked: TrackedDeployment[] = [];
  for (const d of input.found.filter((x) => x.environment === environment)) {
    const paths = [...new Set(d.targets.flatMap((t) => (t.file ? [t.file] : [])))].sort();
    const key = `${d.sha}\n${paths.join("\n")}`;
    let targets = targetsAt.get(key);
    if (!targets) {
      const texts = await repo.readTexts(d.sha, paths);
      const files = paths.flatMap((path) => {
        const text = texts.get(path);
        return typeof text === "string" ? [{ path, text }] : [];
      });
      targets = await rolloutTargets(input.config, files);
      targetsAt.set(key, targets);
    }
    const items = d.targets.map((t) => ({
      t,
      target: targets.find((x) => x.service === t.service && x.job === t.job),
    }));
    if (items.some((i) => !i.target)) {
      input.log.warn(
        { deployment: d.id },
        "unfinished deployment names a service its files no longer pin; left alone",
      );
      continue;
    }
    // Its window runs from its creation; one past it still gets a last look before the final status.
    const startedAt = Math.max(clockNow - (wallNow - d.createdAt.getTime()), clockNow - minutes * 60_000 + 1);
    tracked.push({
      id: d.id,
      startedAt,
      posted: { state: d.state, description: d.description },
      items: items.map(({ t, target }) => ({
        target: target!,
        state: d.state,
        // A single service's status is its own; for many, the first look fills each in.
        description: d.targets.length === 1 ? d.description : "",
        ...(t.submit_index !== undefined ? { submitIndex: t.submit_index } : {}),
      })),
    });
  }
  const open = tracked.filter((d) => !isTerminal(d.posted.state as never));
  if (open.length === 0) return 0;
  const deployments = new GitHubDeployments(input.octokit, input.coords);
  input.scheduler.detach(async () => {
    try {
      const followed = await followDeployments(open, {
        client,
        deployments,
        claims: input.claims,
        claimKey: (id) => claimKey(input.coords, id),
        scheduler: input.scheduler,
        minutes,
        namespace: client.namespace,
        log: input.log,
      });
      if (followed.length > 0)
        input.log.info(
          { repository: `${input.coords.owner}/${input.coords.repo}`, deployments: followed },
          "resumed rollout follow-up",
        );
    } catch (error) {
      input.log.warn({ error: (error as Error).message }, "resumed rollout follow-up failed");
    }
  });
  return open.length;
}

/**
 * Every installation's repositories: one read each (the bot's recent deployments); the config and the
 * job files only where an unfinished one is found. Errors are logged per repository and never thrown.
 */
export async function resumeEverywhere(app: Probot, deps: ResumeDeps): Promise<void> {
  const since = new Date(Date.now() - RESUME_WINDOW_MINUTES * 60_000);
  let installations: number[];
  try {
    installations = await listInstallations(await app.auth());
  } catch (error) {
    deps.log.warn({ error: (error as Error).message }, "could not list installations to resume rollouts");
    return;
  }
  for (const id of installations) {
    try {
      const octokit = await app.auth(id);
      for (const coords of await listInstallationRepos(octokit)) {
        try {
          const found = await new GitHubDeployments(octokit, coords).unfinished({ since });
          if (found.length === 0) continue;
          const loaded = await loadConfig(octokit, coords);
          if (loaded.status !== "ok") continue;
          await resumeRepoRollouts({ ...deps, octokit, coords, config: loaded.config, found });
        } catch (error) {
          deps.log.warn(
            { repository: `${coords.owner}/${coords.repo}`, error: (error as Error).message },
            "could not resume rollouts",
          );
        }
      }
    } catch (error) {
      deps.log.warn({ installation: id, error: (error as Error).message }, "could not resume rollouts");
    }
  }
}

/** On start, and (replicas sharing claims: one may have died mid-follow) once per lease after that. */
export function scheduleResume(app: Probot, deps: ResumeDeps): void {
  deps.scheduler.detach(async () => {
    for (;;) {
      await resumeEverywhere(app, deps);
      if (!deps.claims.shared) return;
      await deps.scheduler.sleep(deps.claims.sweepMs ?? SWEEP_MINUTES * 60_000);
    }
  });
}

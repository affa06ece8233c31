// How the build relates to what is deployed, through the repository's history: the never-downgrade
// checks (step 3) and, per moved service, the commits since its old pin (step 6) — a move no commit
// accounts for is flagged, and explained when an explainer is given.
import type { Config } from "../config/schema.js";
import { mapLimit } from "./concurrency.js";
import type { Discovery } from "./discovery.js";
import {
  type Plan,
  type Relation,
  type ServicePlan,
  changing,
  countStatuses,
  deployedCommits,
} from "./plan.js";
import type { PinRecords } from "./pin-records.js";
import type { ExplainerPort, RepoPort } from "./ports.js";
import type { CommitLog } from "./release-notes.js";
import { errorMessage } from "./resolve.js";
import { type BuildInfo, shortSha } from "./templates.js";

/**
 * How the build commit relates to each commit an old pin records ("unknown" without `compare`);
 * commits in `known` (asked earlier) are not asked again.
 */
export async function deployedAncestry(
  repo: RepoPort,
  config: Config,
  discovery: Discovery,
  build: BuildInfo,
  limit: number,
  records: PinRecords = {},
  known: Readonly<Record<string, Relation>> = {},
): Promise<Record<string, Relation>> {
  const ancestry: Record<string, Relation> = {};
  if (!repo.compare) return ancestry;
  await mapLimit(deployedCommits(config, discovery, records), limit, async (commit) => {
    ancestry[commit] =
      known[commit] ?? (await repo.compare!(commit, build.sha).catch(() => "unknown" as const));
  });
  return ancestry;
}

/** How the build commit relates to `base` (the deploy branch's head); undefined without either. */
export function buildAgainstBase(
  repo: RepoPort,
  build: BuildInfo,
  base: string | undefined,
): Promise<Relation | undefined> {
  if (!base || !repo.compare) return Promise.resolve(undefined);
  return repo.compare(base, build.sha).catch(() => "unknown" as const);
}

/**
 * A build that is not a descendant of `base` (an older push finishing late): every move becomes stale
 * and the reason is returned; otherwise the plan is unchanged.
 */
export async function skipOlderBuild(
  planned: Plan,
  base: string | undefined,
  /** How the build relates to `base` (buildAgainstBase). */
  againstBase: Promise<Relation | undefined>,
): Promise<{ plan: Plan; skipped?: string }> {
  const sha = planned.build.sha;
  const relation = await againstBase;
  if (!base || (relation !== "behind" && relation !== "diverged")) return { plan: planned };
  const skipped = `build ${shortSha(sha)} is ${relation === "behind" ? "older than" : "not a descendant of"} ${shortSha(base)}: skipped, nothing changes`;
  const services = planned.services.map((s) =>
    s.status === "moved" || s.status === "new" ? { ...s, status: "stale" as const, reason: skipped } : s,
  );
  return { plan: { ...planned, services, counts: countStatuses(services) }, skipped };
}

/** The commits behind each moving service, by service name. */
export async function commitLogs(
  repo: RepoPort,
  planned: Plan,
  ancestry: Readonly<Record<string, Relation>>,
  limit: number,
): Promise<Record<string, CommitLog>> {
  const commits: Record<string, CommitLog> = {};
  await mapLimit(changing(planned), limit, async (s) => {
    commits[s.name] = await commitLog(repo, s, planned.build, ancestry);
  });
  return commits;
}

async function commitLog(
  repo: RepoPort,
  s: ServicePlan,
  build: BuildInfo,
  ancestry: Readonly<Record<string, Relation>>,
): Promise<CommitLog> {
  if (s.status === "new") return { ok: false, reason: "first pin: no earlier build recorded" };
  if (s.old.commit === null) {
    const why = s.old.unrecorded ? `: ${s.old.unrecorded}` : "";
    return { ok: false, reason: `the old pin (tag ${s.old.tag ?? "none"}) records no commit${why}` };
  }
  if (s.paths.length === 0) return { ok: false, reason: "no `paths` configured for this service" };
  const relation = ancestry[s.old.commit] ?? "unknown";
  if (relation === "identical") return { ok: true, commits: [] };
  try {
    return { ok: true, commits: await repo.commitsTouching(s.old.commit, build.sha, s.paths) };
  } catch (error) {
    return { ok: false, reason: `commit history unavailable: ${errorMessage(error)}` };
  }
}

/** A move whose history is known and empty: nothing under its paths changed, yet the digest did. */
const unexplained = (s: ServicePlan, log: CommitLog | undefined) =>
  s.status === "moved" && log?.ok === true && log.commits.length === 0;

/** Marks moves no commit accounts for: the build may not be reproducible. */
export function flagUnexplainedMoves(planned: Plan, commits: Readonly<Record<string, CommitLog>>): Plan {
  const services = planned.services.map((s) =>
    unexplained(s, commits[s.name]) && !s.reason
      ? {
          ...s,
          reason: "digest moved although no commit touched its paths: the build may not be reproducible",
        }
      : s,
  );
  return { ...planned, services };
}

/** For each move with no commit in its paths: how the old and new image differ (2 at a time: layers are big). */
export async function explainMoves(
  explainer: ExplainerPort,
  planned: Plan,
  commits: Readonly<Record<string, CommitLog>>,
): Promise<Plan> {
  const services = await mapLimit(planned.services, 2, async (s) => {
    if (!unexplained(s, commits[s.name])) return s;
    if (!s.old.digest || !s.next?.digest || s.old.digest === s.next.digest) return s;
    // The old image is gone from the registry: nothing to compare with (the move's reason says so).
    if (s.pinGone) return s;
    try {
      const explanation = await explainer.explain(
        `${s.image}@${s.old.digest}`,
        `${s.image}@${s.next.digest}`,
      );
      return { ...s, explanation: { ok: true as const, explanation } };
    } catch (error) {
      return { ...s, explanation: { ok: false as const, error: errorMessage(error) } };
    }
  });
  return { ...planned, services };
}

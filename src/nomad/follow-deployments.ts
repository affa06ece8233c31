// The App's rollout follow-up, with GitHub's deployment statuses as its durable state: whoever follows a
// deployment (the replica that merged, or one that started later and found it unfinished) first claims
// it (a lease in Redis shared by the replicas, or this process alone), reads the newest status before
// posting (never the same one twice, nothing after a final one), and posts one status per deployment per
// re-check, however many services the deployment covers.
import { randomUUID } from "node:crypto";
import type { DeploymentState, DeploymentsPort } from "../core/ports.js";
import { type FollowItem, type Scheduler, followRollouts, isTerminal, timeoutDescription } from "./follow.js";
import { type RolloutCheckPort, type RolloutTarget, combinedStatus } from "./rollout.js";

/** Who follows which deployment: one holder at a time, with a lease its holder renews on every look. */
export interface FollowClaims {
  /** Takes or renews the claim on `key` for `owner`; false while another owner holds it. */
  claim(key: string, owner: string): Promise<boolean>;
  release(key: string, owner: string): Promise<void>;
  /** Shared by replicas (Redis): a replica then also sweeps for follow-ups another one dropped. */
  readonly shared: boolean;
  /** With shared claims: how often to sweep (a dead holder's lease has run out by the next sweep). */
  readonly sweepMs?: number;
}

/** One process: a claim is held until released (a restart starts empty, and resumes from GitHub). */
export function localClaims(): FollowClaims {
  const held = new Map<string, string>();
  return {
    shared: false,
    async claim(key, owner) {
      const holder = held.get(key);
      if (holder !== undefined && holder !== owner) return false;
      held.set(key, owner);
      return true;
    },
    async release(key, owner) {
      if (held.get(key) === owner) held.delete(key);
    },
  };
}

export interface TrackedDeployment {
  id: number;
  /** Scheduler ms: its follow window (`minutes`) runs from here. */
  startedAt: number;
  items: FollowItem[];
  /** Its newest status on GitHub. */
  posted: { state: string; description: string };
}

export interface FollowLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface FollowDeploymentsOptions {
  client: RolloutCheckPort;
  deployments: DeploymentsPort;
  claims: FollowClaims;
  /** The claim's name for a deployment (unique across repositories). */
  claimKey(id: number): string;
  scheduler: Scheduler;
  minutes: number;
  namespace: string;
  log: FollowLog;
}

/**
 * Follows the deployments it can claim until each is final or its window ran out (then `error`); the
 * others are someone else's. Returns the ids it followed. Never throws for a GitHub or Nomad error.
 */
export async function followDeployments(
  tracked: readonly TrackedDeployment[],
  options: FollowDeploymentsOptions,
): Promise<number[]> {
  const { claims, deployments, scheduler } = options;
  const owner = randomUUID();
  const mine: TrackedDeployment[] = [];
  for (const d of tracked) {
    if (await claims.claim(options.claimKey(d.id), owner)) mine.push(d);
  }
  if (mine.length === 0) return [];
  const ownerOf = new Map<RolloutTarget, TrackedDeployment>();
  const states = new Map<RolloutTarget, { state: DeploymentState; description: string }>();
  for (const d of mine) {
    for (const item of d.items) {
      ownerOf.set(item.target, d);
      states.set(item.target, { state: item.state, description: item.description });
    }
  }
  const done = new Set<number>();
  const deadlineOf = (d: TrackedDeployment) => d.startedAt + options.minutes * 60_000;
  const lastErrors = new Map<RolloutTarget, string>();
  const lastDeadline = Math.max(...mine.map(deadlineOf));

  const post = async (d: TrackedDeployment, want: { state: DeploymentState; description: string }) => {
    try {
      const latest = await deployments.latest(d.id);
      if (latest && isTerminal(latest.state as DeploymentState)) {
        // Finished by another follower (a lease that ran out while this one was slow): leave it.
        done.add(d.id);
        return;
      }
      if (!latest || latest.state !== want.state || latest.description !== want.description) {
        await deployments.status(d.id, want);
      }
      d.posted = want;
    } catch (error) {
      // The next change may get through; the state stays in GitHub for a resume.
      options.log.warn(
        { deployment: d.id, state: want.state, error: (error as Error).message },
        "could not post a rollout status",
      );
    }
  };

  const settle = async (final: boolean) => {
    for (const d of mine) {
      if (done.has(d.id)) continue;
      const items = d.items.map((i) => ({ service: i.target.service, ...states.get(i.target)! }));
      const open = items.some((i) => !isTerminal(i.state));
      // The last deadline is settled after the loop, where the last failed look's error is known.
      const expired = open && (final || (deadlineOf(d) < lastDeadline && scheduler.now() >= deadlineOf(d)));
      const want = expired ? { state: "error" as const, description: timeoutText(d) } : combinedStatus(items);
      if (want.state !== d.posted.state || want.description !== d.posted.description) await post(d, want);
      if (!open || expired) done.add(d.id);
      else if (!(await claims.claim(options.claimKey(d.id), owner))) done.add(d.id); // lost the lease
    }
  };

  const timeoutText = (d: TrackedDeployment) => {
    const open = d.items.filter((i) => !isTerminal(states.get(i.target)!.state));
    if (d.items.length === 1) {
      const lastError = lastErrors.get(d.items[0]!.target);
      return timeoutDescription(
        { item: d.items[0]!, timedOut: true, ...(lastError ? { lastError } : {}) },
        options.minutes,
        options.namespace,
      );
    }
    const jobs = open.map((i) => i.target.job).join(", ");
    const text = `${open.length} still rolling out after ${options.minutes} min; see \`nomad job status\`: ${jobs}`;
    return text.length > 140 ? `${text.slice(0, 139)}…` : text;
  };

  const outcomes = await followRollouts(
    mine.flatMap((d) => d.items.filter((i) => !isTerminal(i.state))),
    {
      client: options.client,
      scheduler,
      minutes: options.minutes,
      deadline: lastDeadline,
      keep: (item) => !done.has(ownerOf.get(item.target)!.id),
      onChange: async (item, check) => {
        states.set(item.target, { state: check.state, description: check.description });
      },
      onRound: () => settle(false),
    },
  );
  for (const o of outcomes) if (o.lastError) lastErrors.set(o.item.target, o.lastError);
  await settle(true);
  for (const d of mine) await claims.release(options.claimKey(d.id), owner);
  options.log.info(
    {
      deployments: mine.map((d) => ({ id: d.id, state: d.posted.state, services: d.items.length })),
    },
    "rollout follow-up finished",
  );
  return mine.map((d) => d.id);
}

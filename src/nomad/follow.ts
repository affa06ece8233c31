// Following rollouts after the first look: re-check non-terminal ones with backoff (5 s doubling to
// 60 s) until each is terminal or the deadline passes. Time goes through a small Scheduler port so the
// App can run this detached from the webhook (unref'd timers) and tests can run it without sleeping.
// The App's follow-up keeps its durable state in GitHub's deployment statuses (follow-deployments.ts).
import { type RolloutCheck, type RolloutCheckPort, type RolloutTarget, checkRollout } from "./rollout.js";
import type { RolloutState } from "./summary.js";
import type { NomadJob } from "./types.js";

export interface Scheduler {
  /** Milliseconds, for the deadline. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Runs work after the caller returned (the webhook's response is not held up by it). */
  detach(work: () => Promise<void>): void;
}

/**
 * Real time. `unref: true` (the App): a pending follow-up never keeps the process alive, so a shutdown
 * is not delayed by it. The CLI awaits its follow-up and needs `unref: false`, or node would exit early.
 */
export function realScheduler(options: { unref: boolean }): Scheduler {
  const timer = (fn: () => void, ms: number) => {
    const t = setTimeout(fn, ms);
    if (options.unref) t.unref();
  };
  return {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => timer(resolve, ms)),
    detach: (work) => timer(() => void work(), 0),
  };
}

export const FIRST_DELAY_MS = 5_000;
export const MAX_DELAY_MS = 60_000;
export const DEFAULT_FOLLOW_MINUTES = 15;

/** Delay before the (attempt+1)-th re-check: 5 s, 10 s, 20 s, 40 s, then 60 s. */
export function backoffDelay(attempt: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** Math.min(attempt, 16), MAX_DELAY_MS);
}

/** States after which nothing changes without a new deploy. */
export function isTerminal(state: RolloutState | "error"): boolean {
  return state === "success" || state === "failure" || state === "inactive" || state === "error";
}

export interface FollowItem {
  target: RolloutTarget;
  /** The bot submitted the job: this JobModifyIndex tells the new deployment apart. */
  submitIndex?: number;
  /**
   * The job as this process submitted it (absent when resumed from a deployment's payload): a re-check
   * finding no deployment yet reads its type from it instead of GETting the job again.
   */
  submitted?: NomadJob;
  /** The state last reported (the first look's). */
  state: RolloutState | "error";
  description: string;
}

export interface FollowOutcome {
  item: FollowItem;
  /** The last successful look (absent when every re-check failed). */
  last?: RolloutCheck;
  /** Still not terminal when the deadline passed. */
  timedOut: boolean;
  /** The last re-check's Nomad error, when it failed. */
  lastError?: string;
}

export interface FollowOptions {
  client: RolloutCheckPort;
  scheduler: Scheduler;
  minutes: number;
  /** When to stop (ms on the scheduler's clock); default: `minutes` from now. */
  deadline?: number;
  /** Checked before each look: false drops the item (its deployment is finished or followed elsewhere). */
  keep?(item: FollowItem): boolean;
  /** After each round of looks: where a deployment covering several items posts once for all. */
  onRound?(): Promise<void>;
  /** Called per state change, and per changed progress while in_progress (never twice the same): where statuses get posted. */
  onChange(item: FollowItem, check: RolloutCheck): Promise<void>;
}

/**
 * Re-checks every non-terminal item until all are terminal or `minutes` passed; the last wait is cut to
 * land on the deadline, so there is always a look at it. A failed re-check (cluster briefly away) is not
 * a state change: the item stays followed and the error is kept for the timeout message.
 */
export async function followRollouts(
  items: readonly FollowItem[],
  options: FollowOptions,
): Promise<FollowOutcome[]> {
  const { scheduler } = options;
  const outcomes: FollowOutcome[] = items.map((item) => ({
    item: { ...item },
    timedOut: !isTerminal(item.state),
  }));
  const deadline = options.deadline ?? scheduler.now() + options.minutes * 60_000;
  let pending = outcomes.filter((o) => o.timedOut);
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    const left = deadline - scheduler.now();
    if (left <= 0) break;
    await scheduler.sleep(Math.min(backoffDelay(attempt), left));
    for (const o of pending) {
      if (options.keep && !options.keep(o.item)) {
        o.timedOut = false;
        continue;
      }
      const check = await checkRollout(options.client, o.item.target, o.item.submitIndex, o.item.submitted);
      if (check.state === "error") {
        o.lastError = check.description;
        continue;
      }
      delete o.lastError;
      o.last = check;
      // A rollout moving on within in_progress (1/3 → 2/3 healthy) is progress worth a status too.
      const progressed = check.state === "in_progress" && check.description !== o.item.description;
      if (check.state !== o.item.state || progressed) {
        o.item.state = check.state;
        o.item.description = check.description;
        await options.onChange(o.item, check);
      }
      o.timedOut = !isTerminal(check.state);
    }
    pending = pending.filter((o) => o.timedOut);
    await options.onRound?.();
  }
  return outcomes;
}

/** The status text for a rollout still going at the deadline (GitHub keeps 140 characters). */
export function timeoutDescription(outcome: FollowOutcome, minutes: number, namespace: string): string {
  const ns = namespace === "default" ? "" : ` -namespace=${namespace}`;
  const how = `see \`nomad job status${ns} ${outcome.item.target.job}\``;
  // The error goes last: clipping then cuts its tail, not the command to run.
  const text = outcome.lastError
    ? `no rollout result after ${minutes} min, last check failed; ${how}: ${outcome.lastError}`
    : `still rolling out after ${minutes} min; ${how}`;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

// Missed deliveries recovered: GitHub keeps every webhook delivery and its answer. On start and then on a
// schedule, the App lists its recent deliveries (a bounded window and count) and asks GitHub to deliver
// again each event it acts on whose every attempt failed (the App was down, or refused it), so nothing
// sent while no replica listened is lost. An event with a successful attempt is left alone.
// One process without Redis also cannot know whether work it had accepted before a crash finished (its
// ledger was its memory): on start it also redelivers the events it answered in the last minutes before
// it started. Either way a repeated event is harmless: the handlers find what was already written.
import type { Octokit } from "../github/types.js";
import { type DeliveryAttempt, recentDeliveries, redeliver } from "../github/deliveries.js";

/** The events (and actions) app.ts acts on: only those are worth delivering again. */
const HANDLED: Record<string, readonly string[] | null> = {
  push: null,
  workflow_run: ["completed"],
  check_run: ["rerequested"],
  pull_request: ["closed", "opened", "synchronize", "reopened"],
  issues: ["edited"],
};

function handled(d: DeliveryAttempt): boolean {
  const actions = HANDLED[d.event];
  if (actions === undefined) return false;
  return actions === null || (d.action !== null && actions.includes(d.action));
}

const succeeded = (d: DeliveryAttempt) => d.statusCode >= 200 && d.statusCode < 300;

export interface Selection {
  /** Events none of whose attempts succeeded. */
  failed: DeliveryAttempt[];
  /** Events answered before `answeredBefore` (a crash may have dropped their work). */
  resumed: DeliveryAttempt[];
}

/**
 * Which events to deliver again, one attempt each (the newest), from attempts listed newest first. Pure.
 * `answeredBefore`/`resumeSince`: also the events whose successful attempts all fall in that span.
 */
export function selectRedeliveries(
  attempts: readonly DeliveryAttempt[],
  resume?: { answeredBefore: Date; since: Date },
): Selection {
  const byGuid = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) {
    if (!handled(a)) continue;
    const list = byGuid.get(a.guid) ?? [];
    list.push(a);
    byGuid.set(a.guid, list);
  }
  const failed: DeliveryAttempt[] = [];
  const resumed: DeliveryAttempt[] = [];
  for (const list of byGuid.values()) {
    const newest = list.reduce((a, b) => (b.deliveredAt > a.deliveredAt ? b : a));
    const ok = list.filter(succeeded);
    if (ok.length === 0) {
      failed.push(newest);
    } else if (
      resume &&
      ok.every((a) => a.deliveredAt < resume.answeredBefore) &&
      ok.some((a) => a.deliveredAt >= resume.since)
    ) {
      resumed.push(newest);
    }
  }
  const oldestFirst = (a: DeliveryAttempt, b: DeliveryAttempt) =>
    a.deliveredAt.getTime() - b.deliveredAt.getTime();
  return { failed: failed.sort(oldestFirst), resumed: resumed.sort(oldestFirst) };
}

export interface RecoverySettings {
  /** Between passes; 0: only the pass on start. */
  intervalMs: number;
  /** How far back a pass looks. */
  windowMs: number;
  /** Attempts listed per pass at most. */
  maxDeliveries: number;
}

/** One replica per period does the pass (with Redis); alone, every pass is this process's. */
export interface RecoveryLock {
  /** True when this replica may do the pass; held for `ms` (not released: one pass per period). */
  acquire(ms: number): Promise<boolean>;
}

export interface RecoveryLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** One pass: list, select, redeliver (oldest first). What was asked for again is returned. */
export async function recoverMissed(
  octokit: Octokit,
  settings: RecoverySettings,
  input: { now: Date; resume?: { answeredBefore: Date; since: Date }; log: RecoveryLog },
): Promise<Selection & { listed: number }> {
  const since = new Date(input.now.getTime() - settings.windowMs);
  const attempts = await recentDeliveries(octokit, { since, max: settings.maxDeliveries });
  const selection = selectRedeliveries(attempts, input.resume);
  for (const d of [...selection.failed, ...selection.resumed]) {
    try {
      await redeliver(octokit, d.id);
    } catch (error) {
      // GitHub keeps it: the next pass tries again.
      input.log.warn({ delivery: d.guid, event: d.event, err: error }, "redelivery not accepted");
    }
  }
  if (selection.failed.length + selection.resumed.length > 0) {
    input.log.info(
      {
        listed: attempts.length,
        failed: selection.failed.map((d) => `${d.event}:${d.guid}`),
        resumed: selection.resumed.map((d) => `${d.event}:${d.guid}`),
      },
      "asked GitHub to deliver missed events again",
    );
  }
  return { ...selection, listed: attempts.length };
}

/**
 * The pass on start (after `startDelayMs`, so the server listens for what it asks for) and then every
 * `intervalMs`, on unref'd timers. `resumeSince`: a process without a shared ledger also resumes what it
 * answered in that span before it started (its first pass only).
 */
export function scheduleRecovery(input: {
  appOctokit: () => Promise<Octokit>;
  settings: RecoverySettings;
  lock?: RecoveryLock;
  log: RecoveryLog;
  startedAt: Date;
  resumeWindowMs?: number;
  startDelayMs?: number;
}): { stop(): void } {
  const { settings, log } = input;
  let first = true;
  const pass = async () => {
    const resume =
      first && input.resumeWindowMs !== undefined
        ? {
            answeredBefore: input.startedAt,
            since: new Date(input.startedAt.getTime() - input.resumeWindowMs),
          }
        : undefined;
    const onStart = first;
    first = false;
    try {
      // The lock spans most of a period: the replica that took it does this period's pass alone. A
      // replica's pass on start skips it: deliveries refused while it was down (a crash, a deploy) would
      // otherwise wait for the next period, and a second redelivery of one event is harmless.
      const period = settings.intervalMs > 0 ? settings.intervalMs : settings.windowMs;
      if (!onStart && input.lock && !(await input.lock.acquire(Math.max(1000, period - 1000)))) return;
      await recoverMissed(await input.appOctokit(), settings, {
        now: new Date(),
        log,
        ...(resume ? { resume } : {}),
      });
    } catch (error) {
      log.warn({ err: error }, "missed-delivery recovery failed; the next pass tries again");
    }
  };
  const timers: NodeJS.Timeout[] = [];
  timers.push(setTimeout(() => void pass(), input.startDelayMs ?? 1000).unref());
  if (settings.intervalMs > 0) timers.push(setInterval(() => void pass(), settings.intervalMs).unref());
  return {
    stop() {
      for (const t of timers) clearTimeout(t);
    },
  };
}

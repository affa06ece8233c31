// The pending-work ledger: every delivery the App has answered but not finished. A delivery is recorded
// before the webhook is answered and forgotten when its work is done (or its failure is reported), so a
// crash between the two leaves it in the ledger.
// - In one process (no REDIS_URL) the ledger is this process's memory: a crash loses it, and the missed-
//   delivery recovery (handlers/recovery.ts) asks GitHub to deliver recent events again instead.
// - With REDIS_URL it lives in Redis: a hash of pending deliveries, each held by one replica through a
//   lease key that the replica renews while the work is queued or running. A replica that dies stops
//   renewing; once the lease runs out any replica claims the delivery and runs it again (the handlers are
//   idempotent, so work done before the crash is found and not repeated).
import type { Redis } from "ioredis";
import { z } from "zod";
import { DELETE_IF_HELD, RENEW_IF_HELD } from "./redis-lease.js";

/** One accepted webhook delivery: enough to run it again (`app.receive`). */
export interface PendingDelivery {
  /** GitHub's delivery GUID (X-GitHub-Delivery): the same for a redelivery. */
  id: string;
  /** The event name, e.g. "workflow_run". */
  name: string;
  payload: unknown;
}

export interface PendingLedger {
  /** Before the answer: the delivery is pending and held by this replica. */
  record(delivery: PendingDelivery): Promise<void>;
  /** Its work finished (or its failure is on GitHub): nothing left to resume. */
  finish(id: string): Promise<void>;
  /** Keeps this replica's hold on deliveries it still queues or runs. */
  renew(ids: readonly string[]): Promise<void>;
  /**
   * Pending deliveries that no live replica holds (their holder died and its lease ran out), now held by
   * this replica; at most `max`. Each claim counts as an attempt; one claimed more than `maxAttempts`
   * times is dropped and returned under `dropped` (a poison delivery must not loop forever). An entry
   * that cannot be read back (not JSON, or not the shape `record` writes) is dropped too, with why.
   */
  claimOrphans(max: number): Promise<{
    claimed: PendingDelivery[];
    dropped: string[];
    unreadable: Array<{ id: string; problem: string }>;
  }>;
  /** Pending deliveries (any holder), for tests and logs. */
  size(): Promise<number>;
}

/** The zero-setup ledger: this process's memory, nothing to resume after a restart. */
export function memoryLedger(): PendingLedger {
  const pending = new Map<string, PendingDelivery>();
  return {
    async record(delivery) {
      pending.set(delivery.id, delivery);
    },
    async finish(id) {
      pending.delete(id);
    },
    async renew() {},
    async claimOrphans() {
      return { claimed: [], dropped: [], unreadable: [] };
    },
    async size() {
      return pending.size;
    },
  };
}

export interface RedisLedgerOptions {
  /** Who holds a delivery: unique per process. */
  owner: string;
  /** How long a hold lasts without renewal; renewed every third of it. */
  leaseMs: number;
  /** Claims of one delivery before it is dropped (default 5). */
  maxAttempts?: number;
  /** Key prefix (default "nomad-gitops"). */
  prefix?: string;
}

// An entry as `record` writes it. Redis holds whatever any process wrote (another version of the App
// during a rolling upgrade, a hand edit), so it is read back through this schema, never cast.
const Stored = z.object({
  name: z.string().min(1),
  payload: z.unknown(),
  attempts: z.number().int().min(0),
});
type Stored = z.infer<typeof Stored>;

/** A ledger entry read back, or what is wrong with it (never its text: it holds a webhook payload). */
function readStored(raw: string): { ok: true; entry: Stored } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, problem: `not JSON (${raw.length} characters)` };
  }
  const parsed = Stored.safeParse(json);
  if (parsed.success) return { ok: true, entry: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return { ok: false, problem: `not a pending delivery (${where}${issue?.message ?? "invalid"})` };
}

/** The ledger in Redis, shared by every replica. */
export function redisLedger(redis: Redis, options: RedisLedgerOptions): PendingLedger {
  const prefix = options.prefix ?? "nomad-gitops";
  const pendingKey = `${prefix}:pending`;
  const holdKey = (id: string) => `${prefix}:pending:hold:${id}`;
  const maxAttempts = options.maxAttempts ?? 5;
  const { owner, leaseMs } = options;
  return {
    async record(delivery) {
      const stored: Stored = { name: delivery.name, payload: delivery.payload, attempts: 0 };
      // One transaction: a sweep never sees the delivery without its hold. HSETNX: a redelivery or a resumed
      // delivery keeps its entry, and with it the count of attempts.
      const results = await redis
        .multi()
        .set(holdKey(delivery.id), owner, "PX", leaseMs)
        .hsetnx(pendingKey, delivery.id, JSON.stringify(stored))
        .exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error("Redis transaction aborted");
    },
    async finish(id) {
      await redis.hdel(pendingKey, id);
      await redis.eval(DELETE_IF_HELD, 1, holdKey(id), owner);
    },
    async renew(ids) {
      if (ids.length === 0) return;
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.eval(RENEW_IF_HELD, 1, holdKey(id), owner, String(leaseMs));
      await pipeline.exec();
    },
    async claimOrphans(max) {
      const claimed: PendingDelivery[] = [];
      const dropped: string[] = [];
      const unreadable: Array<{ id: string; problem: string }> = [];
      for (const id of await redis.hkeys(pendingKey)) {
        if (claimed.length >= max) break;
        // NX: only when no live replica holds it.
        if ((await redis.set(holdKey(id), owner, "PX", leaseMs, "NX")) !== "OK") continue;
        const raw = await redis.hget(pendingKey, id);
        if (raw === null) {
          // Finished between the listing and the claim.
          await redis.eval(DELETE_IF_HELD, 1, holdKey(id), owner);
          continue;
        }
        const read = readStored(raw);
        if (!read.ok) {
          // It cannot be run again: dropped, with why, so the delivery can be redelivered by hand.
          await redis.hdel(pendingKey, id);
          await redis.eval(DELETE_IF_HELD, 1, holdKey(id), owner);
          unreadable.push({ id, problem: read.problem });
          continue;
        }
        const stored = read.entry;
        if (stored.attempts >= maxAttempts) {
          await redis.hdel(pendingKey, id);
          await redis.eval(DELETE_IF_HELD, 1, holdKey(id), owner);
          dropped.push(id);
          continue;
        }
        await redis.hset(pendingKey, id, JSON.stringify({ ...stored, attempts: stored.attempts + 1 }));
        claimed.push({ id, name: stored.name, payload: stored.payload });
      }
      return { claimed, dropped, unreadable };
    },
    async size() {
      return redis.hlen(pendingKey);
    },
  };
}

// Per-repository serialisation: two deliveries for one repository never interleave (each reads the
// branch, plans, then writes; interleaved, the second would plan on a state the first is changing).
// In one process an in-memory queue per repository does it. With REDIS_URL, replicas share a lock per
// repository in Redis: one holder at a time, with a lease the holder renews while it works, so a replica
// killed mid-deploy frees the repository when its lease runs out.
// handlers/runtime.ts picks one from the environment.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { DELETE_IF_HELD, RENEW_IF_HELD } from "./redis-lease.js";

export interface RepoSerializer {
  /** Runs `work` once no other work for `key` runs (in this process, or in any replica with Redis). */
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/** One process: work for a key runs after the work queued before it, in arrival order. */
export function localSerializer(): RepoSerializer {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(work, work);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      // Forget the key once its last work is done, so the map holds only busy repositories.
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}

/**
 * Across replicas: a Redis key per repository, set only when absent (`SET NX PX`), holding a random
 * token. The holder renews its lease every third of `leaseMs` while its work runs, however long that is,
 * and deletes the key (only while it still holds its token) when done; a replica that dies stops renewing
 * and the repository is free `leaseMs` later. Waiters poll with backoff up to `maxWaitMs`, then fail (the
 * failure is reported in the check run).
 */
export function redisSerializer(
  redis: Redis,
  options: { leaseMs?: number; maxWaitMs?: number; prefix?: string } = {},
): RepoSerializer {
  const leaseMs = options.leaseMs ?? 30_000;
  const maxWaitMs = options.maxWaitMs ?? leaseMs * 10;
  const prefix = options.prefix ?? "nomad-gitops:repo";
  // One process still queues locally first: Redis only arbitrates between replicas.
  const local = localSerializer();
  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      return local.run(key, async () => {
        const lock = `${prefix}:${key}`;
        const token = randomUUID();
        const deadline = Date.now() + maxWaitMs;
        for (let wait = 25; (await redis.set(lock, token, "PX", leaseMs, "NX")) !== "OK";) {
          if (Date.now() > deadline)
            throw new Error(
              `repository ${key} stayed locked by another replica for ${Math.round(maxWaitMs / 1000)} s`,
            );
          await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
          wait = Math.min(wait * 2, 500);
        }
        const renew = setInterval(
          () => void redis.eval(RENEW_IF_HELD, 1, lock, token, String(leaseMs)).catch(() => undefined),
          Math.max(100, leaseMs / 3),
        );
        try {
          return await work();
        } finally {
          clearInterval(renew);
          await redis.eval(DELETE_IF_HELD, 1, lock, token).catch(() => undefined);
        }
      });
    },
  };
}

// Who follows which rollout: with REDIS_URL a lease per deployment in the Redis the replicas share (SET NX
// PX, renewed and released only by its holder), so two replicas never follow, and post for, the same one;
// a holder killed mid-follow loses the lease when it runs out, and the next sweep takes over. Without
// Redis, this process alone (src/nomad/follow-deployments.ts localClaims).
import type { FollowClaims } from "../nomad/follow-deployments.js";
import { DELETE_IF_HELD, RENEW_IF_HELD } from "./redis-lease.js";

/** The few ioredis calls a claim needs. */
export interface RedisLike {
  set(key: string, value: string, px: "PX", ms: number, nx: "NX"): Promise<string | null>;
  eval(script: string, keys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** A lease outlives the longest gap between two looks (60 s) plus a slow round of them. */
export const DEFAULT_LEASE_MS = 180_000;

export function redisClaims(redis: RedisLike, leaseMs = DEFAULT_LEASE_MS): FollowClaims {
  return {
    shared: true,
    sweepMs: leaseMs + 5_000,
    async claim(key, owner) {
      if ((await redis.set(key, owner, "PX", leaseMs, "NX")) === "OK") return true;
      return Number(await redis.eval(RENEW_IF_HELD, 1, key, owner, leaseMs)) === 1;
    },
    async release(key, owner) {
      await redis.eval(DELETE_IF_HELD, 1, key, owner);
    },
  };
}

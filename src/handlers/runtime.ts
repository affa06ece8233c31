// What the App as a server (src/server.ts) runs with, from its environment: one replica in memory, or
// replicas sharing one Redis (REDIS_URL) for the per-repository lock, the pending-work ledger and the
// missed-delivery recovery's lock. The variables and their defaults are documented in docs/install.md.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { PendingWork } from "./accept.js";
import { type PendingLedger, memoryLedger, redisLedger } from "./ledger.js";
import type { RecoveryLock, RecoverySettings } from "./recovery.js";
import { type RepoSerializer, localSerializer, redisSerializer } from "./serial.js";
import { DEFAULT_LEASE_MS, redisClaims } from "./claims.js";
import { type FollowClaims, localClaims } from "../nomad/follow-deployments.js";

const seconds = (fallback: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, "must be a number of seconds")
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)));
const count = (fallback: number) =>
  z
    .string()
    .regex(/^[1-9]\d*$/, "must be a positive whole number")
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)));

/** The App server's environment beyond Probot's own variables. */
export const RuntimeEnv = z.object({
  REDIS_URL: z.string().min(1).optional(),
  /** How long a dead replica keeps a repository locked (a live one renews its lease while it works). */
  NOMAD_GITOPS_REPO_LEASE_SECONDS: seconds(30),
  /** How long a replica's hold on an accepted delivery lasts without renewal (renewed every third). */
  NOMAD_GITOPS_PENDING_LEASE_SECONDS: seconds(30),
  /** Between missed-delivery passes (0: only on start). */
  NOMAD_GITOPS_RECOVERY_INTERVAL_SECONDS: seconds(600),
  /** How far back a pass looks. */
  NOMAD_GITOPS_RECOVERY_WINDOW_SECONDS: seconds(3600),
  /** Delivery attempts listed per pass at most. */
  NOMAD_GITOPS_RECOVERY_MAX_DELIVERIES: count(500),
  /** Without Redis: on start, events answered this long before it are delivered again. */
  NOMAD_GITOPS_RESUME_WINDOW_SECONDS: seconds(600),
  /** How long a dead replica keeps a rollout follow-up claimed (a live one renews it on every look). */
  NOMAD_GITOPS_ROLLOUT_LEASE_SECONDS: seconds(DEFAULT_LEASE_MS / 1000),
});

export interface Runtime {
  serial: RepoSerializer;
  pending: PendingWork;
  recovery: RecoverySettings & {
    lock?: RecoveryLock;
    /** Set when the ledger does not survive a restart: what to resume on start. */
    resumeWindowMs?: number;
  };
  /** Who follows which deployment's rollout; and the server looks for unfinished ones on start. */
  rolloutClaims: FollowClaims;
  resumeRollouts: true;
  /** Closes the Redis connection, if any (tests; a server process just exits). */
  close(): Promise<void>;
}

/** The collaborators for `env`; throws a message naming the variable when one is malformed. */
export async function runtimeFor(env: Readonly<Record<string, string | undefined>>): Promise<Runtime> {
  const parsed = RuntimeEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${issue.path.join(".")}: ${issue.message}`);
  }
  const e = parsed.data;
  const recovery: RecoverySettings = {
    intervalMs: e.NOMAD_GITOPS_RECOVERY_INTERVAL_SECONDS * 1000,
    windowMs: e.NOMAD_GITOPS_RECOVERY_WINDOW_SECONDS * 1000,
    maxDeliveries: e.NOMAD_GITOPS_RECOVERY_MAX_DELIVERIES,
  };
  const leaseMs = e.NOMAD_GITOPS_PENDING_LEASE_SECONDS * 1000;
  if (!e.REDIS_URL) {
    return {
      serial: localSerializer(),
      pending: new PendingWork(memoryLedger(), { leaseMs }),
      recovery: { ...recovery, resumeWindowMs: e.NOMAD_GITOPS_RESUME_WINDOW_SECONDS * 1000 },
      rolloutClaims: localClaims(),
      resumeRollouts: true,
      close: async () => {},
    };
  }
  // The ioredis Probot's own clustered throttling uses, loaded only with REDIS_URL.
  const { Redis } = await import("ioredis");
  // Few retries per command: with Redis away, a delivery is refused (500) within a second or two rather
  // than answered late, and GitHub's failed delivery is asked for again by the recovery pass.
  const redis = new Redis(e.REDIS_URL, { maxRetriesPerRequest: 2 });
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const ledger: PendingLedger = redisLedger(redis, { owner, leaseMs });
  return {
    serial: redisSerializer(redis, { leaseMs: e.NOMAD_GITOPS_REPO_LEASE_SECONDS * 1000 }),
    pending: new PendingWork(ledger, { leaseMs }),
    recovery: {
      ...recovery,
      lock: {
        async acquire(ms) {
          return (await redis.set("nomad-gitops:recovery", owner, "PX", Math.round(ms), "NX")) === "OK";
        },
      },
    },
    rolloutClaims: redisClaims(redis, e.NOMAD_GITOPS_ROLLOUT_LEASE_SECONDS * 1000),
    resumeRollouts: true,
    close: async () => void redis.disconnect(),
  };
}

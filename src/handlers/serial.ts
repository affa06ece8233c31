// Per-repository serialisation: two deliveries for one repository never interleave (each reads the
// branch, plans, then writes; interleaved, the second would plan on a state the first is changing).
// In one process an in-memory queue per repository does it. With REDIS_URL, replicas share a Redis-held
// slot per repository through Bottleneck's clustering (the library Probot throttles with): one holder at a
// time, with a lease, so a replica killed mid-deploy frees the repository when its lease runs out.
import Bottleneck from "bottleneck";

export interface RepoSerializer {
  /** Runs `work` once no other work for `key` runs (in this process, or in any replica with Redis). */
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/**
 * What `REDIS_URL` asks for: Redis shared by the replicas, else this process alone. The Redis client
 * is loaded only then (the ioredis that Probot's own clustered throttling uses).
 */
export async function serializerFor(
  env: Readonly<Record<string, string | undefined>>,
): Promise<RepoSerializer> {
  if (!env.REDIS_URL) return localSerializer();
  const { Redis } = await import("ioredis");
  const lease = Number(env.NOMAD_GITOPS_REPO_LEASE_SECONDS ?? 120) * 1000;
  return redisSerializer(new Bottleneck.IORedisConnection({ client: new Redis(env.REDIS_URL) }), lease);
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
 * Across replicas: a clustered Bottleneck group, one limiter per repository with a single slot. `leaseMs`
 * bounds how long a holder keeps the slot if it dies; work itself must finish well within it.
 */
export function redisSerializer(connection: Bottleneck.IORedisConnection, leaseMs = 120_000): RepoSerializer {
  const group = new Bottleneck.Group({
    id: "nomad-gitops-repos",
    maxConcurrent: 1,
    datastore: "ioredis",
    connection,
    // A waiting delivery is answered by Probot after ~9 s and GitHub gives up after 10 s; the work
    // still runs, but only one at a time.
    timeout: leaseMs * 5,
  });
  // One process still queues locally first: Redis only arbitrates between replicas.
  const local = localSerializer();
  return {
    run<T>(key: string, work: () => Promise<T>): Promise<T> {
      return local.run(key, () => group.key(key).schedule({ expiration: leaseMs }, work));
    },
  };
}

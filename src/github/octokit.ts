// The one GitHub client of the App and the Action: Probot's Octokit, with throttling fitted to GitHub's
// documented limits instead of @octokit/plugin-throttling's defaults, which space every POST 1 s apart
// (read-only GraphQL queries included) and add 3 s between a PR and a comment.
//
// - Reads (GET and GraphQL queries) only share the plugin's concurrency cap (10 at a time, GitHub allows 100).
// - Content-creating requests (REST POST/PATCH/PUT/DELETE, GraphQL mutations) go one at a time per
//   installation through a token bucket: `burst` at once, then `perMinute`; any 60 s window holds at most
//   burst + perMinute of them, below GitHub's 80. With REDIS_URL, Probot hands its Redis connection to the
//   throttle options and the bucket lives in Redis, shared by every replica (one at a time then holds per
//   replica: nothing held in Redis can outlive a killed replica).
// - A secondary or primary rate-limit answer is retried after GitHub's retry-after/reset when that wait is
//   at most `maxWaitSeconds`, `retries` times; after that the request fails with GitHub's message, which the
//   handler reports in the check run (never a silent success). The wait is read by `rate-limits.ts`, not
//   by the plugin, which takes a `retry-after: 0` for a missing header (60 s). Probot's retry plugin leaves
//   429s (and, by its own list, 403s) to that one owner; it still retries server errors.
import type { Octokit as CoreOctokit } from "@octokit/core";
import Bottleneck from "bottleneck";
import { ProbotOctokit } from "probot";
import { retryRateLimited } from "./rate-limits.js";
import type { Octokit } from "./types.js";

export interface WritePacing {
  /** Content-creating requests an installation may make at once before pacing starts. */
  burst: number;
  /** Steady rate after the burst. */
  perMinute: number;
  /** Longest retry-after / rate-limit reset the App waits for before it gives up. */
  maxWaitSeconds: number;
  /** Retries of one request after a rate-limit answer. */
  retries: number;
}

/**
 * GitHub allows 80 content-creating requests a minute. A window of 60 s can see 51 refills at one per
 * 1.2 s (both ends), so a burst of 28 keeps any minute at 79 or fewer, per installation.
 */
export const DEFAULT_PACING: WritePacing = { burst: 28, perMinute: 50, maxWaitSeconds: 60, retries: 2 };

/** GitHub's content-creating requests: writes over REST, and GraphQL mutations (queries are reads). */
export function isContentCreating(request: { method?: string; url?: string; query?: unknown }): boolean {
  const method = (request.method ?? "GET").toUpperCase();
  if (method === "GET" || method === "HEAD") return false;
  const path = new URL(request.url ?? "/", "http://github.invalid").pathname;
  if (/\/graphql$/.test(path))
    return typeof request.query === "string" && /^\s*mutation\b/.test(request.query);
  // Token exchanges are authentication, which GitHub does not count as content.
  return !/\/app\/installations\/[^/]+\/access_tokens$/.test(path);
}

interface ThrottleOptions {
  id?: string;
  Bottleneck?: typeof Bottleneck;
  connection?: Bottleneck.IORedisConnection;
  [key: string]: unknown;
}

// The plugin's groups: pass-through write and notification spacing, local caps; one set per Bottleneck build.
const passThrough = new Map<
  unknown,
  Record<"write" | "notifications" | "global" | "auth" | "search", Bottleneck.Group>
>();

// One bucket set per process (or per Redis connection): every Octokit of an installation shares it.
const buckets = new Map<unknown, Map<string, Bottleneck.Group>>();
// This process's one-at-a-time per installation, in front of the (possibly shared) bucket.
const inProcess = new Map<string, Bottleneck.Group>();

function bucketsFor(pacing: WritePacing, throttle: ThrottleOptions): Bottleneck.Group {
  const key = `${pacing.burst}/${pacing.perMinute}`;
  let byConnection = buckets.get(throttle.connection ?? "local");
  if (!byConnection) buckets.set(throttle.connection ?? "local", (byConnection = new Map()));
  let group = byConnection.get(key);
  if (!group) {
    const Limiter = throttle.Bottleneck ?? Bottleneck;
    group = new Limiter.Group({
      // Shared through Redis, the bucket holds no slot while a request runs: a replica killed mid-request
      // cannot block its installation's writes in the other replicas (Bottleneck frees a dead client's
      // running jobs only when they expire). One at a time is kept per process, below.
      maxConcurrent: throttle.connection ? null : 1,
      reservoir: pacing.burst,
      reservoirIncreaseAmount: 1,
      reservoirIncreaseInterval: Math.ceil(60_000 / pacing.perMinute),
      reservoirIncreaseMaximum: pacing.burst,
      ...(throttle.connection
        ? { id: `nomad-gitops-writes-${key}`, datastore: "ioredis", connection: throttle.connection }
        : {}),
    });
    byConnection.set(key, group);
  }
  return group;
}

function serialFor(pacing: WritePacing, throttle: ThrottleOptions): Bottleneck.Group {
  const key = `${pacing.burst}/${pacing.perMinute}`;
  let group = inProcess.get(key);
  if (!group)
    inProcess.set(key, (group = new (throttle.Bottleneck ?? Bottleneck).Group({ maxConcurrent: 1 })));
  return group;
}

/**
 * The installation an Octokit writes for. Probot's installation clients carry it in their auth options;
 * their `throttle.id` is not set under `probot run` (measured: every installation then shared one bucket).
 */
function installationKey(options: Record<string, unknown>): string {
  const throttle = (options.throttle ?? {}) as ThrottleOptions;
  const auth = (options.auth ?? {}) as { installationId?: unknown };
  return String(throttle.id ?? auth.installationId ?? "app");
}

/** Octokit plugin: content-creating requests wait for their installation's bucket. */
function writePacing(octokit: CoreOctokit, options: Record<string, unknown>) {
  const throttle = (options.throttle ?? {}) as ThrottleOptions;
  if (throttle.enabled === false) return {};
  const pacing = (options.pacing as WritePacing | undefined) ?? DEFAULT_PACING;
  const group = bucketsFor(pacing, throttle);
  const key = installationKey(options);
  if (!throttle.connection) {
    octokit.hook.wrap("request", (request, o) =>
      isContentCreating(o) ? group.key(key).schedule(async () => request(o)) : request(o),
    );
  } else {
    const serial = serialFor(pacing, throttle);
    octokit.hook.wrap("request", (request, o) => {
      if (!isContentCreating(o)) return request(o);
      // A token from the shared bucket (it only paces), then the request, one at a time in this process.
      return serial.key(key).schedule(async () => {
        await group.key(key).schedule(async () => undefined);
        return request(o);
      });
    });
  }
  // Outside the pacing: a retried write waits for its own token, as GitHub counts it again.
  octokit.hook.wrap(
    "request",
    retryRateLimited(pacing, () => octokit.log),
  );
  return {};
}

/** Options for @octokit/plugin-throttling that replace its write spacing and turn its retries off. */
export function throttleOptions(throttle: ThrottleOptions) {
  // The plugin still routes POSTs and GraphQL through these groups: without limits they only pass through.
  const Limiter = throttle.Bottleneck ?? Bottleneck;
  let groups = passThrough.get(Limiter);
  if (!groups) {
    groups = {
      write: new Limiter.Group({ maxConcurrent: null, minTime: 0 }),
      notifications: new Limiter.Group({ maxConcurrent: null, minTime: 0 }),
      // The plugin's concurrency caps, kept per process rather than in Redis: a clustered slot held by a
      // replica killed mid-request is never given back (no expiration), and would in the end stop every
      // replica's reads or token exchanges.
      global: new Limiter.Group({ maxConcurrent: 10 }),
      auth: new Limiter.Group({ maxConcurrent: 1 }),
      search: new Limiter.Group({ maxConcurrent: 1, minTime: 2000 }),
    };
    passThrough.set(Limiter, groups);
  }
  return {
    ...groups,
    // The plugin's own retry is off: it reads a `retry-after: 0` as 60 s. `retryRateLimited` retries.
    onSecondaryRateLimit: () => false,
    onRateLimit: () => false,
  };
}

/** @octokit/plugin-retry's own list of statuses it never retries. */
const RETRY_PLUGIN_DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 451];

/**
 * Options for @octokit/plugin-retry: it keeps retrying server errors, but leaves 429 to `retryRateLimited`.
 * Left to it, a 429 was retried by both layers: the plugin's 1/4/9 s waits (blind to retry-after) inside
 * each of ours, 12 requests where GitHub asked for 3 (test/github/rate-limits.test.ts). 403 is already on
 * the plugin's list.
 */
export function retryOptions(given: unknown): Record<string, unknown> {
  const options = (given ?? {}) as Record<string, unknown>;
  const listed = Array.isArray(options.doNotRetry)
    ? (options.doNotRetry as number[])
    : RETRY_PLUGIN_DO_NOT_RETRY;
  return { ...options, doNotRetry: [...new Set([...listed, 429])] };
}

/**
 * ProbotOctokit with the App's throttling. Probot passes its own throttle options (and, with REDIS_URL,
 * its Redis connection) to every Octokit it makes; this keeps the connection and the installation id and
 * replaces the rest.
 */
export function appOctokit(pacing: WritePacing = DEFAULT_PACING) {
  return ProbotOctokit.plugin(writePacing).defaults((instance: Record<string, unknown>) => {
    const throttle = (instance.throttle ?? {}) as ThrottleOptions;
    if (throttle.enabled === false) return instance;
    return {
      ...instance,
      pacing,
      throttle: { ...throttle, ...throttleOptions(throttle) },
      retry: retryOptions(instance.retry),
    };
  });
}

/**
 * The Action's client: the App's class and pacing, authenticated with a plain token (the workflow's
 * GITHUB_TOKEN) instead of an installation. GitHub's secondary limits (80 content-creating requests a
 * minute, 500 an hour) hold for that token too; a deploy makes about 8, so the bucket never empties in one
 * run and two overlapping runs (each its own process and bucket) stay far below the limit together.
 */
export function octokitForToken(
  token: string,
  options: { baseUrl?: string; repository?: string } = {},
): Octokit {
  const Client = appOctokit();
  return new Client({
    auth: { token },
    baseUrl: options.baseUrl ?? "https://api.github.com",
    // The bucket's key: what the token may write to (the Action's token is scoped to its repository).
    throttle: { id: `token:${options.repository ?? "any"}` },
  }) as Octokit;
}

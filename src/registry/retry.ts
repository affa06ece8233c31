// The one retry policy for everything that talks to a registry: the HTTP client's own requests and
// skopeo's pushes and copies. Transient failures (429, 5xx, network errors) are retried a bounded
// number of times, waiting as long as Retry-After says or backing off exponentially with jitter; a
// wait longer than the bound ends the retries instead of stalling the run.

export interface RetryPolicy {
  /** Attempts per operation, including the first. */
  maxAttempts: number;
  /** First backoff delay; doubles per attempt, with up to 50% jitter. */
  baseDelayMs: number;
  /** A Retry-After (or backoff) longer than this ends the retries instead of waiting. */
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  random: () => number;
}

export const DEFAULT_RETRY = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
} as const;

/** The policy with defaults for what the options leave out (options as RegistryOptions spell them). */
export function retryPolicy(options: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    maxAttempts: options.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
    baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
  };
}

/** Seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const base = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(policy.maxDelayMs, base + base * 0.5 * policy.random());
}

/** After attempt N failed transiently: wait and try again, or stop (with the words that say why). */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; gaveUp: string };

export function nextRetry(
  policy: RetryPolicy,
  attempt: number,
  retryAfter?: string | null,
  maxAttempts = policy.maxAttempts,
): RetryDecision {
  if (attempt >= maxAttempts) {
    return { retry: false, gaveUp: attempt > 1 ? `, after ${attempt} attempts` : "" };
  }
  const delayMs = parseRetryAfter(retryAfter, policy.now()) ?? backoffDelay(policy, attempt);
  if (delayMs > policy.maxDelayMs) {
    return {
      retry: false,
      gaveUp: `, and asks to retry after ${Math.round(delayMs / 1000)} s (more than the ${Math.round(policy.maxDelayMs / 1000)} s allowed)`,
    };
  }
  return { retry: true, delayMs };
}

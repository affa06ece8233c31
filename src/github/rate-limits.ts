// How long GitHub asks the App to wait after a rate-limit answer, read from the answer's own headers.
// @octokit/plugin-throttling reads `retry-after: 0` as a missing header (`Number("0") || 60`), so a 0, which
// means "now", became a 60 s wait, longer than a short bound allows; the App reads the headers itself.
import { z } from "zod";

/** The shortest wait before a retry: a 0 (or a reset already past) means now, but not a tight loop. */
export const RETRY_FLOOR_SECONDS = 1;
/** GitHub's documented wait when a rate-limit answer names none: "at least one minute". */
export const NO_WAIT_NAMED_SECONDS = 60;

export interface RateLimitWait {
  kind: "secondary" | "primary";
  seconds: number;
  /** What GitHub said, for the log. */
  said: string;
}

const Answer = z.object({
  status: z.number().optional(),
  message: z.string(),
  response: z
    .object({ headers: z.record(z.string(), z.unknown()).default({}), data: z.unknown() })
    .optional(),
});
const GraphQLErrors = z.object({ errors: z.array(z.object({ type: z.string().optional() })) });

const wholeSeconds = (value: unknown): number | null =>
  typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : null;

/** The wait a rate-limit answer asks for, or null when the error is not a rate limit. */
export function rateLimitWait(error: unknown, now: number): RateLimitWait | null {
  const answer = Answer.safeParse(error);
  if (!answer.success) return null;
  const { status, message, response } = answer.data;
  const headers = response?.headers ?? {};
  const graphql = GraphQLErrors.safeParse(response?.data);
  const graphqlLimited = graphql.success && graphql.data.errors.some((e) => e.type === "RATE_LIMITED");
  if (status !== 403 && status !== 429 && !graphqlLimited) return null;

  const retryAfter = headers["retry-after"];
  // A 429 is a rate limit whatever it names; with neither header GitHub asks for at least a minute.
  const bare429 = status === 429 && headers["x-ratelimit-remaining"] !== "0";
  if (/\bsecondary rate\b/i.test(message) || retryAfter !== undefined || bare429) {
    const after = wholeSeconds(retryAfter);
    return after === null
      ? {
          kind: "secondary",
          seconds: NO_WAIT_NAMED_SECONDS,
          said: `no retry-after: GitHub asks for at least ${NO_WAIT_NAMED_SECONDS} s`,
        }
      : { kind: "secondary", seconds: Math.max(after, RETRY_FLOOR_SECONDS), said: `retry-after ${after}` };
  }
  if (headers["x-ratelimit-remaining"] === "0" || graphqlLimited) {
    const reset = wholeSeconds(headers["x-ratelimit-reset"]);
    if (reset === null)
      return {
        kind: "primary",
        seconds: NO_WAIT_NAMED_SECONDS,
        said: `no x-ratelimit-reset: GitHub asks for at least ${NO_WAIT_NAMED_SECONDS} s`,
      };
    // One second past the reset, so the retry comes after it (GitHub's reset is in whole seconds).
    const until = Math.ceil(reset - now / 1000) + 1;
    return {
      kind: "primary",
      seconds: Math.max(until, RETRY_FLOOR_SECONDS),
      said: `x-ratelimit-reset ${reset}${reset * 1000 <= now ? ", already past" : ""}`,
    };
  }
  return null;
}

interface Logger {
  warn(message: string): void;
}

/**
 * An Octokit request hook: a rate-limited request is retried after the wait GitHub names when that is at
 * most `maxWaitSeconds`, `retries` times; after that it fails with GitHub's message.
 */
export function retryRateLimited(
  pacing: { maxWaitSeconds: number; retries: number },
  log: () => Logger | undefined,
) {
  return async <O extends { method?: string; url?: string }, T>(
    request: (options: O) => T | Promise<T>,
    options: O,
  ): Promise<T> => {
    for (let count = 0; ; count += 1) {
      try {
        return await request(options);
      } catch (error) {
        const wait = rateLimitWait(error, Date.now());
        if (!wait) throw error;
        const again = count < pacing.retries && wait.seconds <= pacing.maxWaitSeconds;
        log()?.warn(
          `GitHub ${wait.kind} rate limit on ${options.method} ${options.url}: ${
            again
              ? `retrying in ${wait.seconds} s (${wait.said}; retry ${count + 1} of ${pacing.retries})`
              : `giving up after ${count} retries (${wait.said}; longest wait ${pacing.maxWaitSeconds} s)`
          }`,
        );
        if (!again) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait.seconds * 1000));
      }
    }
  };
}

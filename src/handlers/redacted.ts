// The App's side of "no secret leaves the process": every handler runs with its log, its GitHub writes
// and its thrown error passed through the one redaction function. The core already redacts what it
// renders (so a redelivered event compares like with like); this is the net for everything else.
import type { Context } from "probot";
import { redact } from "../secrets/redact.js";

/** Text fields of GitHub writes (comments, PRs, check runs, releases, statuses, commit messages). */
const TEXT_FIELDS = ["body", "title", "name", "message", "description", "summary", "text"] as const;

/**
 * Redacts the text fields of one Octokit request in place (before it is sent). File contents (`tree`,
 * `content`) are never touched: a job file is committed exactly as verified.
 */
export function redactRequest(options: Record<string, unknown>): void {
  for (const key of TEXT_FIELDS) {
    const value = options[key];
    if (typeof value === "string") options[key] = redact(value);
  }
  const output = options.output;
  if (output !== null && typeof output === "object") redactRequest(output as Record<string, unknown>);
}

/** A log argument with every string redacted (a copy; an error is redacted in place). */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) {
    // In place: the error keeps its class and fields (Octokit's request, already without its token).
    value.message = redact(value.message);
    if (value.stack !== undefined) value.stack = redact(value.stack);
    return value;
  }
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, depth + 1)]));
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** The logger with every argument redacted; children too. */
export function redactedLog<L extends object>(log: L): L {
  return new Proxy(log, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver) as unknown;
      if (typeof original !== "function") return original;
      if ((LEVELS as readonly PropertyKey[]).includes(property)) {
        return (...args: unknown[]) =>
          original.apply(
            target,
            args.map((a) => redactValue(a)),
          );
      }
      if (property === "child") {
        return (...args: unknown[]) => redactedLog(original.apply(target, args) as object);
      }
      return original.bind(target);
    },
  });
}

/** Wraps a webhook handler: redacted log, redacted GitHub writes, redacted error. */
export function redacted<C extends Context>(handler: (context: C) => Promise<void>) {
  return async (context: C): Promise<void> => {
    context.log = redactedLog(context.log);
    // Octokit logs each request with its parameters (comment bodies, file contents) at debug level.
    context.octokit.log = redactedLog(context.octokit.log);
    context.octokit.hook.before("request", (options) => {
      redactRequest(options as Record<string, unknown>);
    });
    try {
      await handler(context);
    } catch (error) {
      throw redactValue(error);
    }
  };
}

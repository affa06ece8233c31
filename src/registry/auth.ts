// Registry auth from the WWW-Authenticate challenge: Basic, or Bearer tokens fetched from the realm.
// A host's challenge is learned once (one anonymous 401), then every request carries its header up
// front. One token request per scope is in flight at a time and shared; tokens renew before expiry.
import { z } from "zod";
import { parseJson } from "../image/manifest.js";
import { redact, registerSecret } from "../secrets/redact.js";
import type { HttpAnswer, HttpSend } from "./connections.js";
import type { Credential, CredentialLookup } from "./credentials.js";
import { type RetryPolicy, nextRetry } from "./retry.js";

/** A token endpoint's answer (Docker's `token`, OAuth's `access_token`; either will do). */
const tokenAnswerSchema = z
  .object({
    token: z.string().min(1).optional(),
    access_token: z.string().min(1).optional(),
    expires_in: z
      .number()
      .optional()
      .transform((v) => (v !== undefined && v > 0 ? v : undefined)),
  })
  .refine((a) => a.token !== undefined || a.access_token !== undefined, "no token");

export interface Challenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` / `Basic realm="..."`; null if neither. */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null;
  const match = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(header);
  if (!match) return null;
  const params: Record<string, string> = {};
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?/gi;
  for (let m = re.exec(match[2]!); m; m = re.exec(match[2]!)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!;
  }
  return { scheme: match[1]!.toLowerCase() as Challenge["scheme"], params };
}

export type Actions = "pull" | "pull,push";

export interface AuthDeps {
  credentials: CredentialLookup;
  http: HttpSend;
  now: () => number;
  timeoutMs: number;
  /** The one retry policy (retry.ts), for the token endpoint as for the registry. */
  retry: RetryPolicy;
}

interface Token {
  value: string;
  /** When to stop using it (some margin before the real expiry). */
  renewAt: number;
}

interface TokenEntry {
  promise: Promise<Token>;
  /** Set once the request succeeded; absent while it is in flight. */
  token?: Token;
}

export class AuthError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(redact(message));
  }
}

export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, TokenEntry>();
  /** Token endpoint requests made (for tests and the benchmark). */
  tokenRequests = 0;

  constructor(private readonly deps: AuthDeps) {}

  credential(host: string): Credential | null {
    return this.deps.credentials.forHost(host);
  }

  explainMissing(host: string): string {
    return this.deps.credentials.explainMissing(host);
  }

  /** Remembers the host's challenge from a 401 (scope aside, it is the same for every repository). */
  learn(host: string, header: string | null): void {
    const challenge = parseChallenge(header);
    if (challenge) this.challenges.set(host, challenge);
  }

  /** Whether a request to host can carry an Authorization header (Bearer, or Basic with a credential). */
  canAnswer(host: string): boolean {
    const challenge = this.challenges.get(host);
    return (
      challenge?.scheme === "bearer" || (challenge?.scheme === "basic" && this.credential(host) !== null)
    );
  }

  /** Drops cached tokens for a host (after a 401 despite a token). */
  forget(host: string): void {
    for (const key of this.tokens.keys()) if (key.startsWith(`${host}\n`)) this.tokens.delete(key);
  }

  /** The Authorization header for a request, or undefined when the host asked for nothing (yet). */
  async header(host: string, repository: string, actions: Actions): Promise<string | undefined> {
    const challenge = this.challenges.get(host);
    if (!challenge) return undefined;
    const credential = this.credential(host);
    if (challenge.scheme === "basic") {
      if (!credential) return undefined;
      return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
    }
    const token = await this.token(host, challenge, `repository:${repository}:${actions}`, credential);
    return `Bearer ${token}`;
  }

  private async token(
    host: string,
    challenge: Challenge,
    scope: string,
    credential: Credential | null,
  ): Promise<string> {
    const now = this.deps.now();
    // A push token also serves pulls of the same repository.
    const candidates = scope.endsWith(":pull") ? [`${scope},push`, scope] : [scope];
    for (const candidate of candidates) {
      const token = this.tokens.get(`${host}\n${candidate}`)?.token;
      if (token && token.renewAt > now) return token.value;
    }
    const key = `${host}\n${scope}`;
    const inFlight = this.tokens.get(key);
    if (inFlight && !inFlight.token) return (await inFlight.promise).value;
    const entry: TokenEntry = { promise: this.fetchToken(challenge, scope, credential) };
    this.tokens.set(key, entry);
    try {
      entry.token = await entry.promise;
      return entry.token.value;
    } catch (error) {
      if (this.tokens.get(key) === entry) this.tokens.delete(key);
      throw error;
    }
  }

  private async fetchToken(
    challenge: Challenge,
    scope: string,
    credential: Credential | null,
  ): Promise<Token> {
    const realm = challenge.params.realm;
    if (!realm) throw new AuthError("the registry's Bearer challenge has no realm");
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new AuthError(`the registry's token realm is not a URL: ${realm}`);
    }
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    url.searchParams.set("scope", scope);
    const headers: Record<string, string> = { accept: "application/json" };
    if (credential) {
      headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
    }
    const where = `${url.origin}${url.pathname}`;
    const { res, text, started } = await this.tokenAnswer(url, headers, where);
    if (res.status < 200 || res.status > 299) {
      const detail = text.replace(/\s+/g, " ").trim().slice(0, 200);
      throw new AuthError(
        `token endpoint ${where} answered HTTP ${res.status}${detail ? `: ${detail}` : ""}`,
        res.status,
      );
    }
    const body = parseJson(text, tokenAnswerSchema);
    if (!body.ok) {
      throw new AuthError(
        `token endpoint ${where} ${body.json ? "answered without a token" : "did not answer JSON"}`,
      );
    }
    const value = body.value.token ?? body.value.access_token!;
    // A server may echo the token back in an error body later on.
    registerSecret(value);
    // The distribution spec's default lifetime is 60 s. Renew with a margin of a quarter, at most 30 s.
    const lifetime = (body.value.expires_in ?? 60) * 1000;
    return { value, renewAt: started + lifetime - Math.min(30_000, lifetime / 4) };
  }

  /**
   * The token endpoint's answer, under the same retry policy as every registry request: 429 and 5xx
   * (Retry-After or backoff) and network failures are tried again, boundedly. The last answer is
   * returned as it is; a failure to reach the endpoint at all is an AuthError.
   */
  private async tokenAnswer(
    url: URL,
    headers: Record<string, string>,
    where: string,
  ): Promise<{ res: HttpAnswer; text: string; started: number }> {
    const policy = this.deps.retry;
    for (let attempt = 1; ; attempt++) {
      this.tokenRequests++;
      const started = this.deps.now();
      let res: HttpAnswer;
      let text: string;
      try {
        res = await this.deps.http({
          url: url.href,
          method: "GET",
          headers,
          signal: AbortSignal.timeout(this.deps.timeoutMs),
        });
        text = new TextDecoder().decode(res.body);
      } catch (error) {
        const next = nextRetry(policy, attempt, null);
        if (next.retry) {
          await policy.sleep(next.delayMs);
          continue;
        }
        throw new AuthError(`token request to ${where} failed: ${describeRequestError(error)}${next.gaveUp}`);
      }
      if (res.status !== 429 && res.status < 500) return { res, text, started };
      const next = nextRetry(policy, attempt, res.headers.get("retry-after"));
      if (!next.retry) {
        const detail = text.replace(/\s+/g, " ").trim().slice(0, 200);
        throw new AuthError(
          `token endpoint ${where} answered HTTP ${res.status}${detail ? `: ${detail}` : ""}${next.gaveUp}`,
          res.status,
        );
      }
      await policy.sleep(next.delayMs);
    }
  }
}

/** A failed request in a few words: "timed out", or the network's own (`connect ECONNREFUSED …`). */
export function describeRequestError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError") return "timed out";
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.message || cause?.code) return cause.message || cause.code!;
    return error.message;
  }
  return String(error);
}

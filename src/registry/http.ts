// One HTTP exchange with a registry, made robust: scheme choice (plain HTTP only for loopback and
// listed hosts), auth from the challenge, retries of 429/5xx/network failures by the shared retry
// policy (retry.ts: Retry-After or backoff with jitter, bounded), a per-host concurrency limit and a
// timeout per attempt.
import { type Actions, AuthError, Authenticator, describeRequestError, parseChallenge } from "./auth.js";
import type { AnswerHeaders, HttpAnswer, HttpSend } from "./connections.js";
import { RegistryError, registryMessage } from "./errors.js";
import { type RetryPolicy, nextRetry } from "./retry.js";

export { parseRetryAfter } from "./retry.js";

export interface TransportOptions extends RetryPolicy {
  http: HttpSend;
  authenticator: Authenticator;
  insecureHosts: ReadonlySet<string>;
  timeoutMs: number;
  concurrencyPerHost: number;
  userAgent: string;
}

export interface RegistryRequest {
  /** The image reference the caller works on, for error messages. */
  ref: string;
  host: string;
  repository: string;
  method: "GET" | "HEAD" | "PUT";
  /** Path below /v2/<repository>/, e.g. "manifests/latest". */
  path: string;
  actions: Actions;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Overrides the transport's attempts (1 = no retry). */
  maxAttempts?: number;
  /** A 200 answer's body is left unread in `stream` (blobs), instead of being buffered in `body`. */
  stream?: boolean;
  /** Overrides the per-attempt timeout; for a stream it also bounds reading the body. */
  timeoutMs?: number;
}

export interface RegistryResponse {
  status: number;
  headers: AnswerHeaders;
  body: Uint8Array;
  /** Set when a retryable status was still answered after the last attempt (or a too-long Retry-After). */
  gaveUp?: string;
  /** The unread body of a 200 answer to a `stream` request. */
  stream?: ReadableStream<Uint8Array>;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)(?::\d+)?$/i;

/** The hosts the operator allows plain HTTP for (NOMAD_GITOPS_INSECURE_REGISTRIES=host:port,...). */
export function insecureHostsFromEnv(env: NodeJS.ProcessEnv): Set<string> {
  const list = env.NOMAD_GITOPS_INSECURE_REGISTRIES ?? "";
  return new Set(
    list
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
}

export function usesPlainHttp(host: string, insecureHosts: ReadonlySet<string>): boolean {
  const lower = host.toLowerCase();
  return LOOPBACK.test(lower) || insecureHosts.has(lower);
}

/** Docker Hub's API lives on registry-1.docker.io. */
export function apiHost(domain: string): string {
  const lower = domain.toLowerCase();
  return lower === "docker.io" || lower === "index.docker.io" ? "registry-1.docker.io" : domain;
}

/**
 * At most `limit` requests to a host at once. Waiting GETs and PUTs go before waiting HEADs: a HEAD is a
 * lookup (a plan queues one per service at the start), a GET or PUT follows up on an answer already in
 * hand (proving a moved digest, reading its attestations, a retag), and work waits on it. Serving them
 * first lets that work start while the lookups go on; what is sent, and how much, is unchanged.
 */
class Semaphore {
  private active = 0;
  private readonly followUps: Array<() => void> = [];
  private readonly lookups: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async acquire(method: RegistryRequest["method"]): Promise<() => void> {
    if (this.active >= this.limit)
      await new Promise<void>((resolve) => (method === "HEAD" ? this.lookups : this.followUps).push(resolve));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.followUps.shift() ?? this.lookups.shift();
      if (next) next();
      else this.active--;
    };
  }
}

export class Transport {
  private readonly limits = new Map<string, Semaphore>();
  /** Requests sent to registries (not counting token requests), for tests and the benchmark. */
  requestCount = 0;

  constructor(private readonly options: TransportOptions) {}

  private limit(host: string): Semaphore {
    let semaphore = this.limits.get(host);
    if (!semaphore) {
      semaphore = new Semaphore(this.options.concurrencyPerHost);
      this.limits.set(host, semaphore);
    }
    return semaphore;
  }

  private readonly probes = new Map<string, Promise<unknown>>();

  async request(req: RegistryRequest): Promise<RegistryResponse> {
    // The first request to a host goes alone: it learns the auth challenge (if any) that all the
    // others then answer up front, instead of each collecting its own 401.
    const probe = this.probes.get(req.host);
    if (!probe) {
      const first = this.limited(req);
      this.probes.set(req.host, first);
      return first;
    }
    await probe.catch(() => undefined);
    return this.limited(req);
  }

  /** Hosts that could not be reached after all attempts: for a while, later calls fail at once. */
  private readonly unreachable = new Map<string, { until: number; reason: string }>();

  private async limited(req: RegistryRequest): Promise<RegistryResponse> {
    const release = await this.limit(req.host).acquire(req.method);
    try {
      const down = this.unreachable.get(req.host);
      if (down && down.until > this.options.now()) {
        throw new RegistryError(req.ref, `registry ${req.host} is unreachable (${down.reason}); not retried`);
      }
      return await this.attempts(req);
    } finally {
      release();
    }
  }

  private async attempts(req: RegistryRequest): Promise<RegistryResponse> {
    const { authenticator } = this.options;
    const maxAttempts = req.maxAttempts ?? this.options.maxAttempts;
    const scheme = usesPlainHttp(req.host, this.options.insecureHosts) ? "http" : "https";
    const url = `${scheme}://${req.host}/v2/${req.repository}/${req.path}`;
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      let authorization: string | undefined;
      try {
        authorization = await authenticator.header(req.host, req.repository, req.actions);
      } catch (error) {
        if (error instanceof AuthError) {
          throw new RegistryError(req.ref, `authentication failed: ${error.message}`, {
            status: error.status,
          });
        }
        throw error;
      }
      const headers: Record<string, string> = { "user-agent": this.options.userAgent, ...req.headers };
      if (authorization) headers.authorization = authorization;

      let res: HttpAnswer;
      try {
        this.requestCount++;
        res = await this.options.http({
          url,
          method: req.method,
          headers,
          ...(req.body ? { body: req.body } : {}),
          signal: AbortSignal.timeout(req.timeoutMs ?? this.options.timeoutMs),
          ...(req.stream ? { stream: true } : {}),
        });
        if (res.stream) return res;
      } catch (error) {
        const reason = describeRequestError(error);
        const next = nextRetry(this.options, attempt, null, maxAttempts);
        if (next.retry) {
          await this.options.sleep(next.delayMs);
          continue;
        }
        // Spare the other images of a dead registry the same wait (a minute, then try again).
        this.unreachable.set(req.host, { until: this.options.now() + 60_000, reason });
        throw new RegistryError(
          req.ref,
          `cannot reach registry ${req.host} (${req.method} ${url}): ${reason}` +
            (attempt > 1 ? `, after ${attempt} attempts` : ""),
          { cause: error },
        );
      }

      if (res.status === 401 && !reauthenticated) {
        // First contact with this host, a changed challenge, or an expired token: one more try.
        authenticator.learn(req.host, res.headers.get("www-authenticate"));
        const sentBearer = authorization?.startsWith("Bearer ") ?? false;
        if (sentBearer) authenticator.forget(req.host);
        // Retry when there is now something (new) to send; a rejected Basic credential stays rejected.
        if (authenticator.canAnswer(req.host) && (authorization === undefined || sentBearer)) {
          reauthenticated = true;
          attempt--;
          continue;
        }
      }

      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable) return res;
      const next = nextRetry(this.options, attempt, res.headers.get("retry-after"), maxAttempts);
      if (next.retry) {
        await this.options.sleep(next.delayMs);
        continue;
      }
      return next.gaveUp ? { ...res, gaveUp: next.gaveUp } : res;
    }
  }

  /**
   * Why a 401/403 came back, for a message that sends the user to the right fix: no credential (where
   * it was looked for), a credential the registry refused, or one it accepted without the right to do
   * this (`insufficient_scope`, or a 403): then which repository and which action.
   */
  explainAuth(
    host: string,
    denied: { repository: string; action: "pull" | "push"; status: number; challenge: string | null },
  ): string {
    const { authenticator } = this.options;
    const credential = authenticator.credential(host);
    const scoped = parseChallenge(denied.challenge)?.params.error === "insufficient_scope";
    if (!credential) {
      const anonymous = scoped ? `anonymous access may not ${denied.action} ${denied.repository}; ` : "";
      return anonymous + authenticator.explainMissing(host);
    }
    if (scoped || denied.status === 403) {
      return (
        `the credential for ${host} was accepted, but may not ` +
        `${denied.action} ${denied.repository}: grant it ${denied.action} access to that repository`
      );
    }
    return "the credential was rejected";
  }
}

/** An error for a non-success answer, quoting the registry's own message. */
export function httpError(
  req: RegistryRequest,
  status: number,
  body: Uint8Array,
  suffix = "",
): RegistryError {
  const said = registryMessage(body);
  const what = said ? `${said.message}${said.code ? ` (${said.code})` : ""}` : "no message";
  return new RegistryError(req.ref, `${req.method} ${req.path} → HTTP ${status}: ${what}${suffix}`, {
    status,
    ...(said?.code ? { code: said.code } : {}),
  });
}

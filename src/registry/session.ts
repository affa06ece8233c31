// What every registry operation shares: the transport (made on first use, so a broken auth file fails
// that call with a clear error, not startup), the actions a read asks for, and errors that name the
// image and explain auth and 404 answers.
import { type Actions, Authenticator } from "./auth.js";
import { type HttpSend, keptAliveHttp } from "./connections.js";
import { loadCredentials } from "./credentials.js";
import { RegistryError } from "./errors.js";
import {
  type RegistryRequest,
  type RegistryResponse,
  Transport,
  httpError,
  insecureHostsFromEnv,
} from "./http.js";
import { retryPolicy } from "./retry.js";
import { type Target, isDigest } from "./target.js";

export interface SessionOptions {
  /** Auth files and NOMAD_GITOPS_INSECURE_REGISTRIES are read from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** How requests are sent (default: kept-alive node:http agents, `concurrencyPerHost` sockets per host). */
  http?: HttpSend;
  /** Attempts per request including the first (default 4). */
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Longest wait for one retry, Retry-After included (default 30 s). */
  maxDelayMs?: number;
  /** Per attempt (default 30 s). */
  timeoutMs?: number;
  /** Concurrent requests per registry host (default 8). */
  concurrencyPerHost?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  userAgent?: string;
  /**
   * Ask for pull,push tokens on reads too, so a lookup and a later retag of the same repository share
   * one token (for the bot, which retags what it looks up). Read-only credentials still read.
   */
  pushAccess?: boolean;
}

export type SessionRequest = Omit<RegistryRequest, "ref" | "host" | "repository">;

export interface Session {
  /** What reads ask for: "pull", or "pull,push" with `pushAccess`. */
  readonly readActions: Actions;
  send(target: Target, req: SessionRequest): Promise<RegistryResponse>;
  /** The error for a non-success answer (auth explained, 404 said plainly). */
  fail(target: Target, req: { method: string; path: string }, res: RegistryResponse): RegistryError;
  stats(): { requests: number; tokenRequests: number };
}

export function createSession(options: SessionOptions = {}): Session {
  const env = options.env ?? process.env;
  const concurrencyPerHost = options.concurrencyPerHost ?? 8;
  const send = options.http ?? keptAliveHttp(concurrencyPerHost);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let authenticator: Authenticator | null = null;
  let transport: Transport | null = null;
  const http = (): Transport => {
    if (transport) return transport;
    const retry = retryPolicy({ ...options, now });
    authenticator = new Authenticator({
      credentials: loadCredentials(env),
      http: send,
      now,
      timeoutMs,
      retry,
    });
    transport = new Transport({
      http: send,
      authenticator,
      insecureHosts: insecureHostsFromEnv(env),
      ...retry,
      timeoutMs,
      concurrencyPerHost,
      userAgent: options.userAgent ?? "nomad-gitops-bot",
    });
    return transport;
  };

  const request = async (target: Target, req: SessionRequest) => {
    let t: Transport;
    try {
      t = http();
    } catch (error) {
      throw new RegistryError(target.text, (error as Error).message);
    }
    return t.request({ ...req, ref: target.text, host: target.host, repository: target.repository });
  };

  const fail = (target: Target, req: { method: string; path: string }, res: RegistryResponse) => {
    const error = httpError(
      { ...req, ref: target.text } as RegistryRequest,
      res.status,
      res.body,
      res.gaveUp,
    );
    const details = { status: res.status, ...(error.code ? { code: error.code } : {}) };
    if (res.status === 401 || res.status === 403) {
      const why = http().explainAuth(target.host, {
        repository: `${target.host}/${target.repository}`,
        action: req.method === "PUT" ? "push" : "pull",
        status: res.status,
        challenge: res.headers.get("www-authenticate"),
      });
      return new RegistryError(target.text, `${error.detail}; ${why}`, details);
    }
    if (res.status === 404) {
      const what = isDigest(target.reference) ? "manifest" : `tag "${target.reference}"`;
      return new RegistryError(
        target.text,
        `${what} not found in ${target.host}/${target.repository} (${error.detail})`,
        details,
      );
    }
    return error;
  };

  return {
    readActions: options.pushAccess ? "pull,push" : "pull",
    send: request,
    fail,
    stats: () => ({
      requests: transport?.requestCount ?? 0,
      tokenRequests: (authenticator as Authenticator | null)?.tokenRequests ?? 0,
    }),
  };
}

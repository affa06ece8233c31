// A real Probot instance for the App tests: a key generated here (never committed), GitHub's API replaced by
// nock, every log line captured so tests can check that no token leaks.
import { generateKeyPairSync } from "node:crypto";
import { Writable } from "node:stream";
import nock from "nock";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { type AppDeps, nomadGitops } from "../../src/app.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { APP_ID, INSTALLATION_ID } from "../fixtures/github/payloads.js";
import { statelessToken } from "../helpers/tokens.js";

export const API = "https://api.github.com";
/** In GitHub's stateless format (~520 characters with dots), as installations get them since 2026. */
export const INSTALLATION_TOKEN = statelessToken(APP_ID, INSTALLATION_ID);
export const WEBHOOK_SECRET = "webhook-secret-for-tests";

let privateKey: string | undefined;
/** RSA key for the App's JWT, made once per test file. */
export function testPrivateKey(): string {
  privateKey ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return privateKey;
}

export interface TestProbot {
  probot: Probot;
  /** Everything logged so far, one JSON line per entry. */
  logs(): string;
}

export function createTestProbot(options: { retry?: boolean } = {}): TestProbot {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const probot = new Probot({
    appId: APP_ID,
    privateKey: testPrivateKey(),
    secret: WEBHOOK_SECRET,
    // Throttling would queue requests behind timers; retry stays on only where a test exercises it, with a
    // 1 ms base so "500 then success" does not sleep for seconds.
    // The function form matters: Probot passes its own `throttle` options to every Octokit it constructs,
    // which replace an object default wholesale and re-enable throttling (1 s between writes).
    Octokit: ProbotOctokit.defaults((instance: Record<string, unknown>) => ({
      ...instance,
      retry: { enabled: options.retry ?? false, retryAfterBaseValue: 1 },
      throttle: { ...(instance.throttle as object | undefined), enabled: false },
    })),
    log: pino({ level: "trace" }, sink),
  });
  return { probot, logs: () => lines.join("") };
}

/**
 * The App loaded into a fresh test Probot, GitHub's API only through nock. With `registry` (the test
 * registry's host:port) the App reads it with one attempt per request, and loopback stays open for it
 * (and for a Nomad stand-in); `deps` adds the rest of the App's dependencies.
 */
export async function startTestApp(
  options: { registry?: string; retry?: boolean; deps?: AppDeps } = {},
): Promise<TestProbot> {
  nock.disableNetConnect();
  const deps: AppDeps = { ...options.deps };
  if (options.registry !== undefined) {
    nock.enableNetConnect("127.0.0.1");
    deps.registry = createRegistryClient({
      env: { NOMAD_GITOPS_INSECURE_REGISTRIES: options.registry },
      maxAttempts: 1,
    });
  }
  takeRequests();
  const t = createTestProbot(options.retry === undefined ? {} : { retry: options.retry });
  await t.probot.load(nomadGitops(deps));
  return t;
}

/**
 * How every App test ends: each GitHub request it mocked was made (`nock.pendingMocks()` empty), the
 * interceptors are cleared for the next test, and no credential reached the logs.
 */
export function expectGitHubDone(t: TestProbot): void {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  if (pending.length > 0) throw new Error(`GitHub requests mocked but never made: ${pending.join(", ")}`);
  expectNoSecrets(t.logs());
}

/**
 * Fails when logs hold a credential: the installation token, the App's JWT (a JWS starts with "eyJ"), its
 * private key, an Authorization header, or the webhook secret.
 */
export function expectNoSecrets(logs: string): void {
  const leaks = [
    logs.includes(INSTALLATION_TOKEN) && "installation token",
    /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./.test(logs) && "JWT",
    /PRIVATE KEY/.test(logs) && "private key",
    // Octokit's errors carry the request headers with the credential replaced by "[REDACTED]".
    /authorization["']?\s*[:=]\s*["']?(token|bearer) (?!\[REDACTED\])/i.test(logs) && "authorization header",
    logs.includes(WEBHOOK_SECRET) && "webhook secret",
  ].filter(Boolean);
  if (leaks.length > 0) throw new Error(`logs hold secrets: ${leaks.join(", ")}`);
}

/** The installation token exchange Probot makes before the first API call of an event. */
export function mockInstallationToken(): void {
  nock(API)
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, {
      token: INSTALLATION_TOKEN,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      // What app.yml asks for: the deploy checks these before its first write (github/permissions.ts).
      permissions: {
        contents: "write",
        pull_requests: "write",
        checks: "write",
        actions: "write",
        deployments: "write",
        issues: "write",
        metadata: "read",
      },
      repository_selection: "all",
    });
}

const seen: string[] = [];

/** API scope whose every request must carry the installation token; each request is recorded for counting. */
export function github(): nock.Scope {
  // Probot's installation auth sends `token …`; a plain token client (@octokit/auth-token) sends a stateless
  // token, which has a JWT's three parts, as `bearer …`. GitHub takes both.
  const scope = nock(API, {
    reqheaders: {
      authorization: (value: string) =>
        value === `token ${INSTALLATION_TOKEN}` || value === `bearer ${INSTALLATION_TOKEN}`,
    },
  });
  scope.on("request", (req: { method: string; path: string }) => seen.push(`${req.method} ${req.path}`));
  return scope;
}

/** Requests made through github() scopes since the last call ("METHOD /path?query"). */
export function takeRequests(): string[] {
  return seen.splice(0, seen.length);
}

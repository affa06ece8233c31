// The GitHub API stand-in's HTTP side: REST routes and /graphql over the in-memory repositories of
// store.ts, installation-token auth, a log of every request, GitHub's rate-limit answers on demand, and
// the App's webhook deliveries (sent signed, listed and redelivered). README.md beside this file lists
// the routes and the shapes answered.
import { createHmac, randomUUID } from "node:crypto";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { statelessToken } from "../tokens.js";
import {
  type CommitOnBranchInput,
  GraphqlError,
  type Node,
  commitOnBranch,
  execute,
  parseOperation,
} from "./graphql.js";
import { type Grants, acceptedFor, refusal } from "./permissions.js";
import {
  type Actor,
  type CheckRun,
  type Commit,
  type Deployment,
  type PullRequest,
  type Repo,
  Store,
  type TreeEntry,
} from "./store.js";

export interface StandInOptions {
  /** Secret deliveries are signed with (x-hub-signature-256). */
  webhookSecret?: string;
  /** Where deliveries go, in turn (a load balancer in front of replicas); settable later. */
  webhookUrls?: string[];
  /**
   * Tokens accepted as they are, e.g. an Action's GITHUB_TOKEN: token → login of the bot it acts as, or
   * { login, permissions } for a token scoped like a workflow's `permissions:` (see permissions.ts).
   */
  tokens?: Record<string, string | { login: string; permissions: Grants }>;
  /** The App's slug: its commits, comments and check runs are by `<slug>[bot]`. */
  appSlug?: string;
  appId?: number;
  /** Content-creating requests accepted per minute (GitHub: 80) before a secondary rate limit answer. */
  writesPerMinute?: number;
  /** Added to every answer, to model GitHub's latency (default 0). */
  latencyMs?: number;
}

export interface ApiRequest {
  method: string;
  /** Path with the query string. */
  path: string;
  /** The route that answered, e.g. "POST /repos/:owner/:repo/git/trees", "graphql query", "graphql mutation". */
  route: string;
  /** ms since the epoch when it arrived. */
  time: number;
  status: number;
  /** Content-creating: a REST POST/PATCH/PUT/DELETE or a GraphQL mutation (the token exchange is not). */
  write: boolean;
  /** The bot or user the token stands for; null for the App's JWT and unauthenticated requests. */
  actor: string | null;
  /** owner/name of the repository it was about, when any. */
  repo: string | null;
  /** The installation whose token made it (GraphQL requests name no repository in their path). */
  installation: number | null;
}

/** Makes the next matching requests fail as GitHub does when a limit is hit. */
export interface LimitRule {
  /** `error`: a plain failure with `status` and `message` (a write GitHub refuses or fails). */
  kind: "secondary" | "primary" | "error";
  /** 403 (default) or 429; any status for `error`. */
  status?: number;
  /** The message of an `error` answer (default "Validation Failed"). */
  message?: string;
  /** How many requests to refuse (default 1). */
  times?: number;
  /** Secondary: the retry-after header in seconds (default 1); omitted when null. */
  retryAfter?: number | null;
  /** Primary: seconds until x-ratelimit-reset (default 1). */
  resetIn?: number;
  /** Which requests (default: content-creating ones); `body` is the request's JSON. */
  match?: (request: { method: string; path: string; write: boolean; body: Json }) => boolean;
}

export interface Delivery {
  id: number;
  guid: string;
  event: string;
  action: string | null;
  installationId: number | null;
  repositoryId: number | null;
  deliveredAt: string;
  redelivery: boolean;
  /** 0 when the target could not be reached. */
  statusCode: number;
  durationMs: number;
  target: string | null;
  body: string;
}

type Json = Record<string, unknown>;
interface Ctx {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  body: Json;
  actor: Actor | null;
  /** The installation an installation token belongs to (null for the JWT and other tokens). */
  installation: number | null;
  repo: Repo | null;
}
type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
type Handler = (ctx: Ctx) => Answer | Promise<Answer>;

const ok = (body: unknown, status = 200): Answer => ({ status, body });
const fail = (status: number, message: string): Answer => ({
  status,
  body: { message, documentation_url: "https://docs.github.com/rest" },
});
const notFound = () => fail(404, "Not Found");
const NOT_ACCESSIBLE = "Resource not accessible by integration";

export class GitHubStandIn {
  readonly store = new Store();
  readonly appSlug: string;
  readonly appId: number;
  readonly webhookSecret: string;
  webhookUrls: string[];
  /** Installation tokens issued so far (`POST /app/installations/:id/access_tokens`). */
  tokensIssued = 0;
  #server = createServer((req, res) => void this.#handle(req, res));
  #url = "";
  #log: ApiRequest[] = [];
  #rules: Array<Required<Omit<LimitRule, "retryAfter">> & { retryAfter: number | null }> = [];
  /** Accepted tokens; an installation token stops working at its `expires_at` (401 Bad credentials). */
  #tokens = new Map<
    string,
    { actor: Actor; installation: number | null; grants: Grants | null; expiresAt?: number }
  >();
  #installationGrants = new Map<string, Grants>();
  #installations = new Map<string, number>();
  #deliveries: Delivery[] = [];
  #holds: Array<{
    match: (r: { method: string; path: string; write: boolean }) => boolean;
    gate: Promise<void>;
  }> = [];
  /** Deliveries still waiting for their answer: GitHub lists an attempt once it has one. */
  #inFlight = new Set<number>();
  #nextTarget = 0;
  #lastTime = 0;
  #routes: Array<{ method: string; pattern: RegExp; names: string[]; route: string; handler: Handler }> = [];
  #installationOfRequest = new WeakMap<IncomingMessage, number>();

  constructor(readonly options: StandInOptions = {}) {
    this.appSlug = options.appSlug ?? "nomad-gitops";
    this.appId = options.appId ?? 1717;
    this.webhookSecret = options.webhookSecret ?? "standin-webhook-secret";
    this.webhookUrls = options.webhookUrls ?? [];
    for (const [token, scope] of Object.entries(options.tokens ?? {}))
      this.#tokens.set(
        token,
        typeof scope === "string"
          ? { actor: actorOf(scope), installation: null, grants: null }
          : { actor: actorOf(scope.login), installation: null, grants: scope.permissions },
      );
    this.#defineRoutes();
  }

  get url(): string {
    return this.#url;
  }

  get bot(): Actor {
    return { login: `${this.appSlug}[bot]`, type: "Bot" };
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(port, "127.0.0.1", resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  // ----- what tests read and drive -----

  requests(): ApiRequest[] {
    return [...this.#log];
  }

  clearRequests(): void {
    this.#log = [];
  }

  failNext(rule: LimitRule): void {
    this.#rules.push({
      kind: rule.kind,
      status: rule.status ?? 403,
      message: rule.message ?? "Validation Failed",
      times: rule.times ?? 1,
      retryAfter: rule.retryAfter === undefined ? 1 : rule.retryAfter,
      resetIn: rule.resetIn ?? 1,
      match: rule.match ?? ((r) => r.write),
    });
  }

  /**
   * Holds every matching request (not answered) until the returned `release` is called: a test can then
   * look at the world while the client is mid-work (e.g. the webhook already answered, its check run not
   * yet completed), or kill the client there. `held()` counts the requests waiting at the gate.
   */
  hold(match: (request: { method: string; path: string; write: boolean }) => boolean): {
    release(): void;
    held(): number;
  } {
    let release!: () => void;
    let waiting = 0;
    const gate = new Promise<void>((r) => (release = r));
    const entry = {
      match: (r: { method: string; path: string; write: boolean }) => {
        const hit = match(r);
        if (hit) waiting++;
        return hit;
      },
      gate: gate.then(() => void (waiting = 0)),
    };
    this.#holds.push(entry);
    return {
      release: () => {
        this.#holds = this.#holds.filter((h) => h !== entry);
        release();
      },
      held: () => waiting,
    };
  }

  /**
   * The permissions an owner's installation was granted (default: all the App asks for): tokens issued
   * from now on carry them, and are refused what they do not cover, as GitHub refuses them.
   */
  setInstallationPermissions(owner: string, grants: Grants): void {
    this.#installationGrants.set(owner.toLowerCase(), grants);
  }

  /** Stores a Sigstore bundle for `digest`, as `actions/attest-build-provenance` does after a build. */
  addAttestation(fullName: string, digest: string, bundle: unknown): void {
    const repo = this.repo(fullName);
    repo.attestations.set(digest, [...(repo.attestations.get(digest) ?? []), bundle]);
  }

  /** Drops the rules of failNext that have not fired yet. */
  clearLimits(): void {
    this.#rules = [];
  }

  /** The installation an owner's repositories belong to (one per owner, made on first use). */
  installationOf(owner: string): number {
    let id = this.#installations.get(owner.toLowerCase());
    if (id === undefined) {
      id = 4242 + this.#installations.size;
      this.#installations.set(owner.toLowerCase(), id);
    }
    return id;
  }

  /** A repository whose default branch holds `files`, committed by a person. */
  createRepo(input: { owner: string; name: string; defaultBranch?: string; files: Record<string, string> }): {
    repo: Repo;
    sha: string;
  } {
    const repo = this.store.addRepo(input.owner, input.name, input.defaultBranch ?? "main");
    this.installationOf(input.owner);
    const tree = this.store.putTree(
      new Map(
        Object.entries(input.files).map(([path, text]) => [
          path,
          { mode: "100644", sha: this.store.putBlob(Buffer.from(text)) },
        ]),
      ),
    );
    const commit = this.#commit(tree, [], "Initial commit", null);
    repo.refs.set(`refs/heads/${repo.defaultBranch}`, commit.sha);
    return { repo, sha: commit.sha };
  }

  repo(fullName: string): Repo {
    const repo = this.store.repo(fullName);
    if (!repo) throw new Error(`no repository ${fullName} in the stand-in`);
    return repo;
  }

  /** A person's commit on top of `branch` (created from the default branch when missing); null deletes a file. */
  pushCommit(
    fullName: string,
    branch: string,
    files: Record<string, string | null>,
    message = "change",
  ): string {
    const repo = this.repo(fullName);
    const ref = `refs/heads/${branch}`;
    const parent = repo.refs.get(ref) ?? repo.refs.get(`refs/heads/${repo.defaultBranch}`)!;
    const entries = new Map(this.store.trees.get(this.store.commits.get(parent)!.tree)!);
    for (const [path, text] of Object.entries(files)) {
      if (text === null) entries.delete(path);
      else
        entries.set(path, {
          mode: entries.get(path)?.mode ?? "100644",
          sha: this.store.putBlob(Buffer.from(text)),
        });
    }
    const commit = this.#commit(this.store.putTree(entries), [parent], message, null);
    repo.refs.set(ref, commit.sha);
    return commit.sha;
  }

  /** Text of `path` at a branch or commit, or null. */
  file(fullName: string, ref: string, path: string): string | null {
    const repo = this.repo(fullName);
    const entry = this.store.resolveTree(repo, ref)?.entries.get(path);
    return entry ? this.store.blobs.get(entry.sha)!.toString("utf8") : null;
  }

  /** Merges an open PR as a person would (a merge commit on its base); returns the merge commit. */
  mergePull(fullName: string, number: number): string {
    const repo = this.repo(fullName);
    const pr = repo.pulls.find((p) => p.number === number && p.state === "open");
    if (!pr) throw new Error(`no open PR #${number} in ${fullName}`);
    const base = repo.refs.get(`refs/heads/${pr.base}`)!;
    const head = repo.refs.get(`refs/heads/${pr.head}`)!;
    const tree = this.store.commits.get(head)!.tree;
    const merge = this.#commit(tree, [base, head], `Merge pull request #${number} from ${pr.head}`, null);
    repo.refs.set(`refs/heads/${pr.base}`, merge.sha);
    Object.assign(pr, { state: "closed", merged: true, mergeCommitSha: merge.sha, headSha: head });
    return merge.sha;
  }

  deliveries(): Delivery[] {
    return [...this.#deliveries];
  }

  /**
   * Sends one webhook delivery, signed, to the next of `webhookUrls` (or to `target`, as a redelivery to a
   * chosen replica); recorded for the deliveries API
   * (a refused connection is a failed delivery with status 0, as GitHub shows it).
   */
  async deliver(
    event: string,
    payload: Json,
    options: { guid?: string; redelivery?: boolean; target?: string } = {},
  ): Promise<Delivery> {
    const body = JSON.stringify(payload);
    const target =
      options.target ??
      (this.webhookUrls.length > 0 ? this.webhookUrls[this.#nextTarget++ % this.webhookUrls.length]! : null);
    const delivery: Delivery = {
      id: this.store.id(),
      guid: options.guid ?? randomUUID(),
      event,
      action: typeof payload.action === "string" ? payload.action : null,
      installationId: (payload.installation as { id?: number } | undefined)?.id ?? null,
      repositoryId: (payload.repository as { id?: number } | undefined)?.id ?? null,
      deliveredAt: new Date().toISOString(),
      redelivery: options.redelivery ?? false,
      statusCode: 0,
      durationMs: 0,
      target,
      body,
    };
    this.#deliveries.push(delivery);
    this.#inFlight.add(delivery.id);
    const started = performance.now();
    if (target) {
      try {
        const res = await fetch(target, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "GitHub-Hookshot/standin",
            "x-github-event": event,
            "x-github-delivery": delivery.guid,
            "x-github-hook-installation-target-type": "integration",
            "x-github-hook-installation-target-id": String(this.appId),
            "x-hub-signature-256": `sha256=${createHmac("sha256", this.webhookSecret).update(body).digest("hex")}`,
          },
          body,
          // GitHub gives up after 10 s.
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        delivery.statusCode = res.status;
      } catch {
        delivery.statusCode = 0;
      }
    }
    delivery.durationMs = performance.now() - started;
    this.#inFlight.delete(delivery.id);
    return delivery;
  }

  // ----- internals -----

  #now(): string {
    this.#lastTime = Math.max(Date.now(), this.#lastTime + 1);
    return new Date(this.#lastTime).toISOString();
  }

  #commit(tree: string, parents: string[], message: string, by: Actor | null, author?: Json): Commit {
    const date = this.#now();
    if (author) {
      const who = { name: String(author.name), email: String(author.email), date };
      return this.store.putCommit({
        tree,
        parents,
        message,
        author: { ...who, login: null },
        committer: who,
        signedByGitHub: false,
      });
    }
    const name = by?.login ?? "Jane Doe";
    const email = by ? `${by.login}@users.noreply.github.com` : "jane@example.com";
    return this.store.putCommit({
      tree,
      parents,
      message,
      author: { name, email, date, login: by?.login ?? "jane" },
      // A bot's API commit is committed and signed by GitHub; a person's push is their own.
      committer: by ? { name: "GitHub", email: "noreply@github.com", date } : { name, email, date },
      signedByGitHub: by !== null,
    });
  }

  #route(method: string, path: string, handler: Handler): void {
    const names: string[] = [];
    const source = path.replace(/[:*](\w+)/g, (m, name: string) => {
      names.push(name);
      return m.startsWith("*") ? "(.+)" : "([^/]+)";
    });
    this.#routes.push({
      method,
      pattern: new RegExp(`^${source}$`),
      names,
      route: `${method} ${path}`,
      handler,
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://standin");
    // GitHub Enterprise Server's layout, which Probot uses when GHE_HOST is set (how `probot run` is pointed here).
    if (url.pathname === "/api/graphql") url.pathname = "/graphql";
    else if (url.pathname.startsWith("/api/v3/")) url.pathname = url.pathname.slice("/api/v3".length);
    if (url.pathname === "/_standin/requests") {
      // For a test that runs the stand-in in another process (main.ts); not a GitHub route, not logged.
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.#log));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: Json = {};
    try {
      body = raw ? (JSON.parse(raw) as Json) : {};
    } catch {
      return this.#send(res, req, url, "?", fail(400, "Problems parsing JSON"), false, null, null);
    }
    const method = req.method ?? "GET";
    const isGraphql = url.pathname === "/graphql" && method === "POST";
    let mutation = false;
    if (isGraphql) {
      try {
        mutation = parseOperation(String(body.query ?? "")).type === "mutation";
      } catch {
        mutation = false;
      }
    }
    const isTokenExchange = /^\/app\/installations\/\d+\/access_tokens$/.test(url.pathname);
    const write = isGraphql ? mutation : method !== "GET" && method !== "HEAD" && !isTokenExchange;

    const auth = this.#authenticate(req);
    if (auth && typeof auth === "object" && auth.installation !== null)
      this.#installationOfRequest.set(req, auth.installation);
    const login = auth && typeof auth === "object" ? auth.actor.login : null;
    const found = this.#match(method, url.pathname);
    const routeName = isGraphql
      ? `graphql ${mutation ? "mutation" : "query"}`
      : (found?.route ?? `${method} ?`);
    const repoName =
      found?.params.owner && found.params.repo ? `${found.params.owner}/${found.params.repo}` : null;

    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    if (auth === "invalid")
      return this.#send(res, req, url, routeName, fail(401, "Bad credentials"), write, null, repoName);

    const held = this.#holds.find((h) => h.match({ method, path: url.pathname + url.search, write }));
    if (held) await held.gate;
    const limited = this.#limited({ method, path: url.pathname + url.search, write, body });
    if (limited) return this.#send(res, req, url, routeName, limited, write, login, repoName);

    if (!found) return this.#send(res, req, url, routeName, notFound(), write, login, repoName);
    const appRoute = url.pathname.startsWith("/app");
    if (appRoute ? auth !== "jwt" : auth === null || auth === "jwt")
      return this.#send(
        res,
        req,
        url,
        routeName,
        fail(401, "Requires authentication"),
        write,
        null,
        repoName,
      );
    const actor = auth === "jwt" || auth === null ? null : auth.actor;
    const repo = repoName ? (this.store.repo(repoName) ?? null) : null;
    if (repoName && !repo)
      return this.#send(res, req, url, routeName, notFound(), write, actor?.login ?? null, repoName);
    // Permissions are checked before the body is looked at, as GitHub does.
    const refused = refusal(auth === "jwt" || auth === null ? null : auth.grants, acceptedFor(routeName));
    if (refused !== null) {
      const answer: Answer = isGraphql
        ? ok({ data: null, errors: [{ type: "FORBIDDEN", message: NOT_ACCESSIBLE }] })
        : {
            status: 403,
            body: {
              message: NOT_ACCESSIBLE,
              documentation_url: "https://docs.github.com/rest",
              status: "403",
            },
            headers: { "x-accepted-github-permissions": refused },
          };
      return this.#send(res, req, url, routeName, answer, write, actor?.login ?? null, repoName);
    }
    let answer: Answer;
    try {
      const installation = auth === "jwt" || auth === null ? null : auth.installation;
      answer = await found.handler({ req, url, params: found.params, body, actor, installation, repo });
    } catch (error) {
      answer = fail(500, (error as Error).message);
    }
    this.#send(res, req, url, routeName, answer, write, actor?.login ?? null, repoName);
  }

  #send(
    res: ServerResponse,
    req: IncomingMessage,
    url: URL,
    route: string,
    answer: Answer,
    write: boolean,
    actor: string | null,
    repo: string | null,
  ): void {
    this.#log.push({
      method: req.method ?? "GET",
      path: url.pathname + url.search,
      route,
      time: Date.now(),
      status: answer.status,
      write,
      actor,
      repo,
      installation: this.#installationOfRequest.get(req) ?? null,
    });
    const headers: Record<string, string> = {
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4999",
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      ...answer.headers,
    };
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers).end();
      return;
    }
    const raw = typeof answer.body === "string";
    res
      .writeHead(answer.status, {
        ...headers,
        "content-type": raw ? "application/vnd.github.raw; charset=utf-8" : "application/json; charset=utf-8",
      })
      .end(raw ? answer.body : JSON.stringify(answer.body));
  }

  #match(method: string, pathname: string) {
    for (const r of this.#routes) {
      if (r.method !== method) continue;
      const m = r.pattern.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { route: r.route, params, handler: r.handler };
    }
    return null;
  }

  #authenticate(
    req: IncomingMessage,
  ): { actor: Actor; installation: number | null; grants: Grants | null } | "jwt" | "invalid" | null {
    const header = req.headers.authorization;
    if (!header) return null;
    const [scheme, value] = header.split(" ");
    if (!value) return "invalid";
    // An issued or listed token first: a stateless installation token (`ghs_<app>_<JWT>`) has three
    // dot-separated parts too, and Octokit sends it as `bearer`.
    const known = this.#tokens.get(value);
    if (known) return known.expiresAt !== undefined && Date.now() >= known.expiresAt ? "invalid" : known;
    // The App's JWT (three base64url parts, iss = app id); its signature is not checked here.
    if (scheme!.toLowerCase() === "bearer" && value.split(".").length === 3) {
      try {
        const claims = JSON.parse(Buffer.from(value.split(".")[1]!, "base64url").toString()) as {
          iss?: unknown;
        };
        return String(claims.iss) === String(this.appId) ? "jwt" : "invalid";
      } catch {
        return "invalid";
      }
    }
    return "invalid";
  }

  #writesInLastMinute(now: number): ApiRequest[] {
    return this.#log.filter((r) => r.write && r.status < 400 && r.time > now - 60_000);
  }

  #limited(request: { method: string; path: string; write: boolean; body: Json }): Answer | null {
    const rule = this.#rules.find((r) => r.times > 0 && r.match(request));
    const now = Date.now();
    if (rule) {
      rule.times -= 1;
      if (rule.kind === "error") return fail(rule.status, rule.message);
      if (rule.kind === "secondary") {
        return {
          status: rule.status,
          body: {
            message:
              "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
          },
          headers: rule.retryAfter === null ? {} : { "retry-after": String(rule.retryAfter) },
        };
      }
      return {
        status: rule.status,
        body: {
          message: "API rate limit exceeded for installation.",
          documentation_url: "https://docs.github.com/rest",
        },
        headers: {
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(Math.ceil(now / 1000) + rule.resetIn),
        },
      };
    }
    const perMinute = this.options.writesPerMinute;
    if (request.write && perMinute !== undefined) {
      const recent = this.#writesInLastMinute(now);
      if (recent.length >= perMinute) {
        const wait = Math.max(1, Math.ceil((recent[recent.length - perMinute]!.time + 60_000 - now) / 1000));
        return {
          status: 403,
          body: {
            message:
              "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later.",
          },
          headers: { "retry-after": String(wait) },
        };
      }
    }
    return null;
  }

  #defineRoutes(): void {
    const R = "/repos/:owner/:repo";
    const s = this.store;

    // --- the App ---
    this.#route("GET", "/app", () => ok({ id: this.appId, slug: this.appSlug, name: this.appSlug }));
    this.#route("POST", "/app/installations/:id/access_tokens", ({ params }) => {
      const installation = Number(params.id);
      if (![...this.#installations.values()].includes(installation)) return notFound();
      // GitHub's stateless format (ghs_<app>_<JWT>, ~520 characters), valid for one hour.
      const token = statelessToken(this.appId, installation);
      const expiresAt = Date.now() + 3_600_000;
      const owner = [...this.#installations].find(([, id]) => id === installation)![0];
      const grants: Grants = this.#installationGrants.get(owner) ?? {
        contents: "write",
        pull_requests: "write",
        checks: "write",
        actions: "write",
        deployments: "write",
        issues: "write",
        attestations: "read",
        metadata: "read",
      };
      this.#tokens.set(token, { actor: this.bot, installation, grants, expiresAt });
      this.tokensIssued += 1;
      return ok(
        {
          token,
          expires_at: new Date(expiresAt).toISOString(),
          permissions: grants,
          repository_selection: "all",
        },
        201,
      );
    });
    this.#route("GET", "/app/installations", () =>
      ok(
        [...this.#installations].map(([owner, id]) => ({
          id,
          app_id: this.appId,
          account: { login: owner, type: "Organization" },
        })),
      ),
    );
    this.#route("GET", "/installation/repositories", ({ installation }) => {
      const repos = [...this.store.repos.values()].filter(
        (r) => installation !== null && this.installationOf(r.owner) === installation,
      );
      return ok({
        total_count: repos.length,
        repositories: repos.map((r) => ({
          name: r.name,
          full_name: `${r.owner}/${r.name}`,
          owner: { login: r.owner },
          archived: false,
        })),
      });
    });
    this.#route("GET", `${R}/installation`, ({ repo }) =>
      ok({ id: this.installationOf(repo!.owner), app_id: this.appId }),
    );
    this.#route("GET", "/app/hook/deliveries", ({ url }) => {
      const perPage = Number(url.searchParams.get("per_page") ?? 30);
      const offset = Number(url.searchParams.get("cursor") ?? 0);
      const list = this.#deliveries.filter((d) => !this.#inFlight.has(d.id)).reverse();
      const page = list.slice(offset, offset + perPage).map(deliveryJson);
      const more = offset + perPage < list.length;
      return {
        status: 200,
        body: page,
        headers: more
          ? {
              link: `<${this.#url}/app/hook/deliveries?per_page=${perPage}&cursor=${offset + perPage}>; rel="next"`,
            }
          : ({} as Record<string, string>),
      };
    });
    this.#route("GET", "/app/hook/deliveries/:id", ({ params }) => {
      const d = this.#deliveries.find((x) => x.id === Number(params.id));
      return d ? ok({ ...deliveryJson(d), request: { payload: JSON.parse(d.body) as unknown } }) : notFound();
    });
    this.#route("POST", "/app/hook/deliveries/:id/attempts", ({ params }) => {
      const d = this.#deliveries.find((x) => x.id === Number(params.id));
      if (!d) return notFound();
      void this.deliver(d.event, JSON.parse(d.body) as Json, { guid: d.guid, redelivery: true });
      return ok({}, 202);
    });

    // --- repository, contents ---
    this.#route("GET", R, ({ repo }) => ok(this.#repoJson(repo!)));
    this.#route("GET", `${R}/contents/*path`, ({ repo, params, url, req }) => {
      const ref = url.searchParams.get("ref") ?? repo!.defaultBranch;
      const entry = s.resolveTree(repo!, ref)?.entries.get(params.path!);
      if (!entry) return notFound();
      const content = s.blobs.get(entry.sha)!;
      if (String(req.headers.accept ?? "").includes("raw")) return ok(content.toString("utf8"));
      return ok({
        type: "file",
        encoding: "base64",
        size: content.length,
        name: params.path!.split("/").pop(),
        path: params.path,
        sha: entry.sha,
        content: content.toString("base64"),
      });
    });

    // --- git data ---
    this.#route("GET", `${R}/git/trees/:sha`, ({ repo, params, url }) => {
      const tree = s.resolveTree(repo!, params.sha!);
      if (!tree) return notFound();
      const recursive = url.searchParams.has("recursive");
      const dirs = new Set<string>();
      const entries: Json[] = [];
      for (const [path, e] of tree.entries) {
        const parts = path.split("/");
        for (let i = 1; i < parts.length; i += 1) dirs.add(parts.slice(0, i).join("/"));
        if (recursive || parts.length === 1)
          entries.push({ path, mode: e.mode, type: "blob", sha: e.sha, size: s.blobs.get(e.sha)!.length });
      }
      for (const d of dirs)
        if (recursive || !d.includes("/"))
          entries.push({ path: d, mode: "040000", type: "tree", sha: "0".repeat(40) });
      entries.sort((a, b) => (String(a.path) < String(b.path) ? -1 : 1));
      return ok({ sha: tree.sha, truncated: false, tree: entries });
    });
    this.#route("POST", `${R}/git/blobs`, ({ body }) => {
      const content = Buffer.from(String(body.content ?? ""), body.encoding === "base64" ? "base64" : "utf8");
      return ok({ sha: s.putBlob(content) }, 201);
    });
    this.#route("GET", `${R}/git/blobs/:sha`, ({ params }) => {
      const blob = s.blobs.get(params.sha!);
      return blob
        ? ok({ sha: params.sha, size: blob.length, encoding: "base64", content: blob.toString("base64") })
        : notFound();
    });
    this.#route("POST", `${R}/git/trees`, ({ body }) => {
      const base = body.base_tree ? s.trees.get(String(body.base_tree)) : new Map<string, TreeEntry>();
      if (!base) return fail(422, "Invalid tree info");
      const entries = new Map(base);
      for (const e of (body.tree ?? []) as Json[]) {
        const path = String(e.path);
        if (e.sha === null) entries.delete(path);
        else if (typeof e.content === "string")
          entries.set(path, { mode: String(e.mode ?? "100644"), sha: s.putBlob(Buffer.from(e.content)) });
        else if (typeof e.sha === "string" && s.blobs.has(e.sha))
          entries.set(path, { mode: String(e.mode ?? "100644"), sha: e.sha });
        else return fail(422, `tree.sha ${String(e.sha)} is not a valid blob`);
      }
      return ok({ sha: s.putTree(entries), truncated: false }, 201);
    });
    this.#route("POST", `${R}/git/commits`, ({ repo, body, actor }) => {
      const tree = String(body.tree);
      const parents = ((body.parents ?? []) as string[]).map(String);
      if (!s.trees.has(tree)) return fail(422, "Tree SHA does not exist");
      if (parents.some((p) => !s.commits.has(p)))
        return fail(422, "Parent SHA does not exist or is not a commit object");
      const commit = this.#commit(
        tree,
        parents,
        String(body.message ?? ""),
        actor,
        body.author as Json | undefined,
      );
      repo!.createdCommits.push(commit.sha);
      return ok(this.#gitCommitJson(commit), 201);
    });
    this.#route("GET", `${R}/git/commits/:sha`, ({ params }) => {
      const c = s.commits.get(params.sha!);
      return c ? ok(this.#gitCommitJson(c)) : notFound();
    });
    this.#route("GET", `${R}/git/ref/*ref`, ({ repo, params }) => {
      const sha = repo!.refs.get(`refs/${params.ref}`);
      return sha ? ok({ ref: `refs/${params.ref}`, object: { sha, type: "commit" } }) : notFound();
    });
    this.#route("POST", `${R}/git/refs`, ({ repo, body }) => {
      const ref = String(body.ref);
      if (repo!.refs.has(ref)) return fail(422, "Reference already exists");
      if (!s.commits.has(String(body.sha))) return fail(422, "Object does not exist");
      repo!.refs.set(ref, String(body.sha));
      return ok({ ref, object: { sha: body.sha, type: "commit" } }, 201);
    });
    this.#route("PATCH", `${R}/git/refs/*ref`, ({ repo, params, body }) => {
      const ref = `refs/${params.ref}`;
      const current = repo!.refs.get(ref);
      if (!current) return fail(422, "Reference does not exist");
      const sha = String(body.sha);
      if (!s.commits.has(sha)) return fail(422, "Object does not exist");
      if (!body.force && !s.ancestors(sha).has(current)) return fail(422, "Update is not a fast forward");
      repo!.refs.set(ref, sha);
      return ok({ ref, object: { sha, type: "commit" } });
    });
    this.#route("DELETE", `${R}/git/refs/*ref`, ({ repo, params }) => {
      if (!repo!.refs.delete(`refs/${params.ref}`)) return fail(422, "Reference does not exist");
      return { status: 204 };
    });
    this.#route("GET", `${R}/commits/:ref`, ({ repo, params }) => {
      const c = s.resolveCommit(repo!, params.ref!);
      return c ? ok(this.#restCommitJson(repo!, c)) : notFound();
    });
    this.#route("GET", `${R}/compare/:basehead`, ({ repo, params }) => {
      const [base, head] = params.basehead!.split("...");
      const b = s.resolveCommit(repo!, base ?? "");
      const h = s.resolveCommit(repo!, head ?? "");
      if (!b || !h) return notFound();
      const result = s.compare(b.sha, h.sha);
      return ok({
        status: result.status,
        ahead_by: result.commits.length,
        behind_by:
          result.status === "behind" || result.status === "diverged"
            ? s.compare(h.sha, b.sha).commits.length
            : 0,
        total_commits: result.commits.length,
        commits: result.commits.slice(0, 250).map((c) => this.#restCommitJson(repo!, c)),
        files: result.files.slice(0, 300).map((filename) => ({ filename, status: "modified" })),
      });
    });

    // --- check runs ---
    this.#route("GET", `${R}/commits/:ref/check-runs`, ({ repo, params, url }) => {
      const c = s.resolveCommit(repo!, params.ref!);
      const name = url.searchParams.get("check_name");
      let runs = repo!.checkRuns.filter(
        (r) => r.headSha === (c?.sha ?? params.ref) && (!name || r.name === name),
      );
      runs = runs.slice().reverse();
      if (url.searchParams.get("filter") !== "all") {
        const seen = new Set<string>();
        runs = runs.filter((r) => !seen.has(r.name) && seen.add(r.name));
      }
      const perPage = Number(url.searchParams.get("per_page") ?? 30);
      return ok({
        total_count: runs.length,
        check_runs: runs.slice(0, perPage).map((r) => this.#checkJson(repo!, r)),
      });
    });
    this.#route("POST", `${R}/check-runs`, ({ repo, body, actor }) => {
      const status = (body.status ?? "queued") as CheckRun["status"];
      const run: CheckRun = {
        id: s.id(),
        name: String(body.name),
        headSha: String(body.head_sha),
        status,
        conclusion: (body.conclusion as string | undefined) ?? null,
        externalId: typeof body.external_id === "string" ? body.external_id : null,
        output: (body.output as CheckRun["output"]) ?? {},
        app: actor!,
        startedAt: this.#now(),
        completedAt: status === "completed" ? this.#now() : null,
        history: [],
      };
      run.history.push({ status: run.status, conclusion: run.conclusion });
      repo!.checkRuns.push(run);
      return ok(this.#checkJson(repo!, run), 201);
    });
    this.#route("PATCH", `${R}/check-runs/:id`, ({ repo, params, body }) => {
      const run = repo!.checkRuns.find((r) => r.id === Number(params.id));
      if (!run) return notFound();
      // A completed run keeps its status and conclusion (re-runs create new runs); its output can change.
      if (run.status !== "completed") {
        if (body.status) run.status = body.status as CheckRun["status"];
        if (body.conclusion) {
          run.status = "completed";
          run.conclusion = String(body.conclusion);
        }
        if (run.status === "completed") run.completedAt = this.#now();
      }
      if (body.output) run.output = body.output as CheckRun["output"];
      if (typeof body.external_id === "string") run.externalId = body.external_id;
      run.history.push({ status: run.status, conclusion: run.conclusion });
      return ok(this.#checkJson(repo!, run));
    });
    this.#route("GET", `${R}/check-runs/:id`, ({ repo, params }) => {
      const run = repo!.checkRuns.find((r) => r.id === Number(params.id));
      return run ? ok(this.#checkJson(repo!, run)) : notFound();
    });

    // --- pulls, issues, comments, labels ---
    this.#route("GET", `${R}/pulls`, ({ repo, url }) => {
      const state = url.searchParams.get("state") ?? "open";
      const head = url.searchParams.get("head");
      const base = url.searchParams.get("base");
      const list = repo!.pulls
        .filter((p) => state === "all" || p.state === state)
        .filter((p) => !head || `${repo!.owner}:${p.head}` === head || p.head === head)
        .filter((p) => !base || p.base === base)
        .slice()
        .reverse();
      return ok(
        list.slice(0, Number(url.searchParams.get("per_page") ?? 30)).map((p) => this.#pullJson(repo!, p)),
      );
    });
    this.#route("POST", `${R}/pulls`, ({ repo, body, actor }) => {
      const head = String(body.head).replace(/^[^:]+:/, "");
      const base = String(body.base);
      if (head === base) return fail(422, `Validation Failed: No commits between ${base} and ${head}`);
      if (!repo!.refs.has(`refs/heads/${head}`))
        return fail(422, `Validation Failed: head ${head} does not exist`);
      if (repo!.pulls.some((p) => p.state === "open" && p.head === head && p.base === base))
        return fail(422, `Validation Failed: A pull request already exists for ${repo!.owner}:${head}.`);
      const pr: PullRequest = {
        number: repo!.nextNumber++,
        title: String(body.title ?? ""),
        body: String(body.body ?? ""),
        head,
        base,
        state: "open",
        merged: false,
        mergeCommitSha: null,
        labels: [],
        user: actor!,
        headSha: null,
      };
      repo!.pulls.push(pr);
      return ok(this.#pullJson(repo!, pr), 201);
    });
    this.#route("GET", `${R}/pulls/:number`, ({ repo, params }) => {
      const pr = repo!.pulls.find((p) => p.number === Number(params.number));
      return pr ? ok(this.#pullJson(repo!, pr)) : notFound();
    });
    this.#route("PATCH", `${R}/pulls/:number`, ({ repo, params, body }) => {
      const pr = repo!.pulls.find((p) => p.number === Number(params.number));
      if (!pr) return notFound();
      if (typeof body.title === "string") pr.title = body.title;
      if (typeof body.body === "string") pr.body = body.body;
      if (body.state === "closed" && pr.state === "open") {
        pr.headSha = repo!.refs.get(`refs/heads/${pr.head}`) ?? null;
        pr.state = "closed";
      } else if (body.state === "open") pr.state = "open";
      return ok(this.#pullJson(repo!, pr));
    });
    this.#route("GET", `${R}/pulls/:number/files`, ({ repo, params }) => {
      const pr = repo!.pulls.find((p) => p.number === Number(params.number));
      if (!pr) return notFound();
      const head = pr.headSha ?? repo!.refs.get(`refs/heads/${pr.head}`);
      // A merged PR keeps its files: compared with the base as it was before the merge.
      const base = pr.mergeCommitSha
        ? s.resolveCommit(repo!, pr.mergeCommitSha)?.parents[0]
        : repo!.refs.get(`refs/heads/${pr.base}`);
      if (!head || !base) return ok([]);
      return ok(s.compare(base, head).files.map((filename) => ({ filename, status: "modified" })));
    });
    this.#route("POST", `${R}/issues/:number/labels`, ({ repo, params, body }) => {
      const item = this.#issueLike(repo!, Number(params.number));
      if (!item) return notFound();
      for (const l of (body.labels ?? []) as string[]) if (!item.labels.includes(l)) item.labels.push(l);
      return ok(item.labels.map((name) => ({ name })));
    });
    this.#route("GET", `${R}/issues/:number/comments`, ({ repo, params, url }) => {
      const list = repo!.comments.filter((c) => c.issue === Number(params.number));
      const perPage = Number(url.searchParams.get("per_page") ?? 30);
      const page = Number(url.searchParams.get("page") ?? 1);
      return ok(list.slice((page - 1) * perPage, page * perPage).map((c) => this.#commentJson(repo!, c)));
    });
    this.#route("POST", `${R}/issues/:number/comments`, ({ repo, params, body, actor }) => {
      if (!this.#issueLike(repo!, Number(params.number))) return notFound();
      const now = this.#now();
      const comment = {
        id: s.id(),
        issue: Number(params.number),
        body: String(body.body ?? ""),
        user: actor!,
        createdAt: now,
        updatedAt: now,
      };
      repo!.comments.push(comment);
      return ok(this.#commentJson(repo!, comment), 201);
    });
    this.#route("PATCH", `${R}/issues/comments/:id`, ({ repo, params, body }) => {
      const c = repo!.comments.find((x) => x.id === Number(params.id));
      if (!c) return notFound();
      c.body = String(body.body ?? "");
      c.updatedAt = this.#now();
      return ok(this.#commentJson(repo!, c));
    });
    this.#route("GET", `${R}/issues`, ({ repo, url }) => {
      const state = url.searchParams.get("state") ?? "open";
      return ok(
        repo!.issues
          .filter((i) => state === "all" || i.state === state)
          .slice()
          .reverse()
          .map((i) => this.#issueJson(repo!, i)),
      );
    });
    this.#route("POST", `${R}/issues`, ({ repo, body, actor }) => {
      if (!String(body.title ?? "").trim()) return fail(422, "Validation Failed: title wasn't supplied");
      const issue = {
        number: repo!.nextNumber++,
        title: String(body.title ?? ""),
        body: String(body.body ?? ""),
        state: "open" as const,
        labels: ((body.labels ?? []) as string[]).map(String),
        user: actor!,
        updatedAt: new Date().toISOString(),
      };
      repo!.issues.push(issue);
      return ok(this.#issueJson(repo!, issue), 201);
    });
    this.#route("GET", `${R}/issues/:number`, ({ repo, params }) => {
      const issue = repo!.issues.find((i) => i.number === Number(params.number));
      return issue ? ok(this.#issueJson(repo!, issue)) : notFound();
    });
    this.#route("PATCH", `${R}/issues/:number`, ({ repo, params, body }) => {
      const issue = repo!.issues.find((i) => i.number === Number(params.number));
      if (!issue) return notFound();
      if (typeof body.title === "string") issue.title = body.title;
      if (typeof body.body === "string") issue.body = body.body;
      if (body.state === "open" || body.state === "closed") issue.state = body.state;
      issue.updatedAt = new Date().toISOString();
      return ok(this.#issueJson(repo!, issue));
    });

    // --- actions ---
    this.#route("POST", `${R}/actions/workflows/:workflow/dispatches`, ({ repo, params, body }) => {
      repo!.dispatches.push({
        workflow: params.workflow!,
        ref: String(body.ref),
        inputs: (body.inputs as Record<string, unknown>) ?? {},
      });
      return { status: 204 };
    });

    // --- deployments ---
    this.#route("POST", `${R}/deployments`, ({ repo, body, actor }) => {
      const c = s.resolveCommit(repo!, String(body.ref));
      if (!c) return fail(422, `No ref found for: ${String(body.ref)}`);
      const d: Deployment = {
        id: s.id(),
        sha: c.sha,
        ref: String(body.ref),
        environment: String(body.environment ?? "production"),
        description: (body.description as string | undefined) ?? null,
        payload: body.payload ?? {},
        creator: actor!,
        createdAt: this.#now(),
        statuses: [],
      };
      repo!.deployments.push(d);
      return ok(this.#deploymentJson(repo!, d), 201);
    });
    this.#route("GET", `${R}/deployments`, ({ repo, url }) => {
      const q = url.searchParams;
      const list = repo!.deployments
        .filter((d) => !q.get("sha") || d.sha === q.get("sha"))
        .filter((d) => !q.get("ref") || d.ref === q.get("ref"))
        .filter((d) => !q.get("environment") || d.environment === q.get("environment"))
        .slice()
        .reverse();
      return ok(list.slice(0, Number(q.get("per_page") ?? 30)).map((d) => this.#deploymentJson(repo!, d)));
    });
    this.#route("POST", `${R}/deployments/:id/statuses`, ({ repo, params, body, actor }) => {
      const d = repo!.deployments.find((x) => x.id === Number(params.id));
      if (!d) return notFound();
      const status = {
        id: s.id(),
        state: String(body.state),
        description: String(body.description ?? ""),
        creator: actor!,
        createdAt: this.#now(),
      };
      d.statuses.push(status);
      return ok(statusJson(status), 201);
    });
    this.#route("GET", `${R}/deployments/:id/statuses`, ({ repo, params, url }) => {
      const d = repo!.deployments.find((x) => x.id === Number(params.id));
      if (!d) return notFound();
      return ok(
        d.statuses
          .slice()
          .reverse()
          .slice(0, Number(url.searchParams.get("per_page") ?? 30))
          .map(statusJson),
      );
    });

    // --- releases ---
    this.#route("GET", `${R}/releases`, ({ repo, url }) =>
      ok(
        repo!.releases
          .slice()
          .reverse()
          .slice(0, Number(url.searchParams.get("per_page") ?? 30))
          .map(releaseJson),
      ),
    );
    this.#route("POST", `${R}/releases`, ({ repo, body, actor }) => {
      const r = {
        id: s.id(),
        tagName: String(body.tag_name),
        target: String(body.target_commitish ?? repo!.defaultBranch),
        name: String(body.name ?? ""),
        body: String(body.body ?? ""),
        draft: Boolean(body.draft),
        author: actor!,
      };
      repo!.releases.push(r);
      return ok(releaseJson(r), 201);
    });
    this.#route("PATCH", `${R}/releases/:id`, ({ repo, params, body }) => {
      const r = repo!.releases.find((x) => x.id === Number(params.id));
      if (!r) return notFound();
      if (typeof body.name === "string") r.name = body.name;
      if (typeof body.body === "string") r.body = body.body;
      if (typeof body.draft === "boolean") r.draft = body.draft;
      return ok(releaseJson(r));
    });

    // --- attestations (GitHub's artifact attestations API) ---
    this.#route("GET", `${R}/attestations/:digest`, ({ repo, params, url }) => {
      const digest = params.digest!;
      const all = repo!.attestations.get(digest) ?? [];
      // GitHub answers 404 when no attestation names the digest.
      if (all.length === 0) return notFound();
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30), 100);
      const offset = Number(url.searchParams.get("after") ?? 0);
      const page = all.slice(offset, offset + perPage);
      const more = offset + perPage < all.length;
      const next = `${this.#url}/repos/${repo!.owner}/${repo!.name}/attestations/${digest}?per_page=${perPage}&after=${offset + perPage}`;
      return {
        status: 200,
        body: { attestations: page.map((bundle) => ({ bundle, repository_id: repo!.id })) },
        headers: more ? { link: `<${next}>; rel="next"` } : ({} as Record<string, string>),
      };
    });

    // --- GraphQL ---
    this.#route("POST", "/graphql", ({ body, actor }) => {
      try {
        const op = parseOperation(String(body.query ?? ""));
        const vars = (body.variables ?? {}) as Record<string, unknown>;
        const root = op.type === "mutation" ? this.#mutationRoot(actor!) : this.#queryRoot();
        return ok({ data: execute(root, op.selections, vars) });
      } catch (error) {
        if (!(error instanceof GraphqlError)) throw error;
        return ok({ data: null, errors: [{ message: error.message, ...error.extra }] });
      }
    });
  }

  // ----- GraphQL schema (the part the bot reads) -----

  #queryRoot(): Node {
    return {
      __typename: "Query",
      repository: ({ owner, name }: { owner: string; name: string }) => {
        const repo = this.store.repo(`${owner}/${name}`);
        if (!repo)
          throw new GraphqlError(`Could not resolve to a Repository with the name '${owner}/${name}'.`, {
            type: "NOT_FOUND",
          });
        return this.#repositoryNode(repo);
      },
    };
  }

  #repositoryNode(repo: Repo): Node {
    return {
      __typename: "Repository",
      id: repo.nodeId,
      name: repo.name,
      nameWithOwner: `${repo.owner}/${repo.name}`,
      defaultBranchRef: () => this.#refNode(repo, `refs/heads/${repo.defaultBranch}`),
      ref: ({ qualifiedName }: { qualifiedName: string }) =>
        this.#refNode(
          repo,
          qualifiedName.startsWith("refs/") ? qualifiedName : `refs/heads/${qualifiedName}`,
        ),
      object: ({ expression, oid }: { expression?: string; oid?: string }) => {
        if (oid) return this.#objectNode(repo, oid);
        const at = String(expression).indexOf(":");
        if (at < 0)
          return this.#objectNode(repo, this.store.resolveCommit(repo, String(expression))?.sha ?? "");
        const tree = this.store.resolveTree(repo, String(expression).slice(0, at));
        const entry = tree?.entries.get(String(expression).slice(at + 1));
        return entry ? this.#objectNode(repo, entry.sha) : null;
      },
    };
  }

  #refNode(repo: Repo, name: string): Node | null {
    const sha = repo.refs.get(name);
    if (!sha) return null;
    return {
      __typename: "Ref",
      name: name.replace(/^refs\/(heads|tags)\//, ""),
      prefix: name.replace(/[^/]+$/, ""),
      target: this.#objectNode(repo, sha),
      // This ref as the base of a comparison: aheadBy counts headRef's commits it lacks, behindBy its own.
      compare: ({ headRef }: { headRef: string }) => {
        const head = repo.refs.get(headRef.startsWith("refs/") ? headRef : `refs/heads/${headRef}`);
        if (!head) return null;
        const ofBase = this.store.ancestors(sha);
        const ofHead = this.store.ancestors(head);
        const aheadBy = [...ofHead].filter((c) => !ofBase.has(c)).length;
        const behindBy = [...ofBase].filter((c) => !ofHead.has(c)).length;
        const status =
          aheadBy === 0 ? (behindBy === 0 ? "IDENTICAL" : "BEHIND") : behindBy === 0 ? "AHEAD" : "DIVERGED";
        return { __typename: "Comparison", aheadBy, behindBy, status };
      },
    };
  }

  #objectNode(repo: Repo, sha: string): Node | null {
    const blob = this.store.blobs.get(sha);
    if (blob) {
      const binary = blob.includes(0);
      return {
        __typename: "Blob",
        oid: sha,
        byteSize: blob.length,
        isBinary: binary,
        isTruncated: false,
        text: binary ? null : blob.toString("utf8"),
      };
    }
    const commit = this.store.commits.get(sha);
    if (commit) return this.#commitNode(repo, commit);
    if (this.store.trees.has(sha)) return { __typename: "Tree", oid: sha };
    return null;
  }

  #commitNode(repo: Repo, c: Commit): Node {
    return {
      __typename: "Commit",
      oid: c.sha,
      message: c.message,
      messageHeadline: c.message.split("\n")[0],
      url: `https://github.com/${repo.owner}/${repo.name}/commit/${c.sha}`,
      committedDate: c.committer.date,
      authoredDate: c.author.date,
      tree: { __typename: "Tree", oid: c.tree },
      author: {
        __typename: "GitActor",
        name: c.author.name,
        email: c.author.email,
        date: c.author.date,
        user: c.author.login ? { __typename: "User", login: c.author.login } : null,
      },
      committer: {
        __typename: "GitActor",
        name: c.committer.name,
        email: c.committer.email,
        date: c.committer.date,
        user: null,
      },
      signature: c.signedByGitHub
        ? { __typename: "GpgSignature", isValid: true, wasSignedByGitHub: true }
        : null,
      parents: ({ first }: { first?: number }) => ({
        __typename: "CommitConnection",
        totalCount: c.parents.length,
        nodes: c.parents
          .slice(0, first ?? 100)
          .map((p) => this.#commitNode(repo, this.store.commits.get(p)!)),
      }),
      history: ({ first, path, since }: { first?: number; path?: string; since?: string }) => ({
        __typename: "CommitHistoryConnection",
        nodes: this.store
          .history(c.sha, path ?? null, since ?? null, first ?? 100)
          .map((h) => this.#commitNode(repo, h)),
      }),
    };
  }

  #mutationRoot(actor: Actor): Node {
    return {
      __typename: "Mutation",
      updateRefs: ({
        input,
      }: {
        input: {
          repositoryId: string;
          refUpdates: Array<{ name: string; beforeOid?: string; afterOid: string; force?: boolean }>;
        };
      }) => {
        const repo = [...this.store.repos.values()].find((r) => r.nodeId === input.repositoryId);
        if (!repo)
          throw new GraphqlError(
            `Could not resolve to a node with the global id of '${input.repositoryId}'`,
            { type: "NOT_FOUND" },
          );
        // All or nothing, as GitHub does: every update is checked before any is applied.
        for (const u of input.refUpdates) {
          const current = repo.refs.get(u.name) ?? "0".repeat(40);
          if (u.beforeOid !== undefined && u.beforeOid !== current)
            throw new GraphqlError(
              `A ref update failed: ${u.name} is at ${current}, expected ${u.beforeOid}`,
              { type: "UNPROCESSABLE" },
            );
          if (u.afterOid !== "0".repeat(40) && !this.store.commits.has(u.afterOid))
            throw new GraphqlError(`Could not resolve ${u.afterOid} to a commit`, { type: "UNPROCESSABLE" });
        }
        for (const u of input.refUpdates) {
          if (u.afterOid === "0".repeat(40)) repo.refs.delete(u.name);
          else repo.refs.set(u.name, u.afterOid);
        }
        return { __typename: "UpdateRefsPayload", clientMutationId: null };
      },
      createCommitOnBranch: ({ input }: { input: CommitOnBranchInput }) => {
        const repo = this.#committableRepo(input.branch);
        const commit = commitOnBranch(this.store, repo, input, (tree, parents, message) =>
          this.#commit(tree, parents, message, actor),
        );
        repo.createdCommits.push(commit.sha);
        return { __typename: "CreateCommitOnBranchPayload", commit: this.#commitNode(repo, commit) };
      },
    };
  }

  /** CommittableBranch: by `repositoryNameWithOwner`, or by the branch ref's node `id` (`<repo id>:<ref>`). */
  #committableRepo(branch: CommitOnBranchInput["branch"]): Repo {
    const repo = branch.repositoryNameWithOwner
      ? this.store.repo(branch.repositoryNameWithOwner)
      : [...this.store.repos.values()].find((r) => branch.id?.startsWith(`${r.nodeId}:`));
    if (!repo)
      throw new GraphqlError(
        `Could not resolve to a Repository with the name '${branch.repositoryNameWithOwner ?? branch.id}'.`,
        { type: "NOT_FOUND" },
      );
    return repo;
  }

  // ----- REST shapes -----

  #repoJson(repo: Repo): Json {
    return {
      id: repo.id,
      node_id: repo.nodeId,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      private: false,
      owner: { login: repo.owner, type: "Organization", id: this.installationOf(repo.owner) },
      default_branch: repo.defaultBranch,
      html_url: `https://github.com/${repo.owner}/${repo.name}`,
      url: `${this.#url}/repos/${repo.owner}/${repo.name}`,
    };
  }

  #gitCommitJson(c: Commit): Json {
    return {
      sha: c.sha,
      node_id: `C_${c.sha}`,
      tree: { sha: c.tree },
      parents: c.parents.map((sha) => ({ sha })),
      message: c.message,
      author: { name: c.author.name, email: c.author.email, date: c.author.date },
      committer: c.committer,
      verification: { verified: c.signedByGitHub, reason: c.signedByGitHub ? "valid" : "unsigned" },
    };
  }

  #restCommitJson(repo: Repo, c: Commit): Json {
    return {
      sha: c.sha,
      html_url: `https://github.com/${repo.owner}/${repo.name}/commit/${c.sha}`,
      commit: {
        message: c.message,
        author: { name: c.author.name, email: c.author.email, date: c.author.date },
        committer: c.committer,
        tree: { sha: c.tree },
        verification: { verified: c.signedByGitHub },
      },
      author: c.author.login ? actorJson(actorOf(c.author.login)) : null,
      parents: c.parents.map((sha) => ({ sha })),
    };
  }

  #checkJson(repo: Repo, r: CheckRun): Json {
    return {
      id: r.id,
      name: r.name,
      head_sha: r.headSha,
      status: r.status,
      conclusion: r.conclusion,
      external_id: r.externalId,
      output: {
        title: r.output.title ?? null,
        summary: r.output.summary ?? null,
        text: r.output.text ?? null,
      },
      started_at: r.startedAt,
      completed_at: r.completedAt,
      app: { slug: r.app.login.replace(/\[bot\]$/, ""), id: this.appId },
      html_url: `https://github.com/${repo.owner}/${repo.name}/runs/${r.id}`,
    };
  }

  #pullJson(repo: Repo, p: PullRequest): Json {
    const repoJson = this.#repoJson(repo);
    return {
      number: p.number,
      title: p.title,
      body: p.body,
      state: p.state,
      merged: p.merged,
      merge_commit_sha: p.mergeCommitSha,
      labels: p.labels.map((name) => ({ name })),
      user: actorJson(p.user),
      head: { ref: p.head, sha: p.headSha ?? repo.refs.get(`refs/heads/${p.head}`) ?? null, repo: repoJson },
      base: { ref: p.base, sha: repo.refs.get(`refs/heads/${p.base}`) ?? null, repo: repoJson },
      html_url: `https://github.com/${repo.owner}/${repo.name}/pull/${p.number}`,
    };
  }

  #issueLike(repo: Repo, number: number): { labels: string[] } | undefined {
    return repo.pulls.find((p) => p.number === number) ?? repo.issues.find((i) => i.number === number);
  }

  #issueJson(
    repo: Repo,
    i: {
      number: number;
      title: string;
      body: string;
      state: string;
      labels: string[];
      user: Actor;
      updatedAt?: string;
    },
  ): Json {
    return {
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      labels: i.labels.map((name) => ({ name })),
      user: actorJson(i.user),
      html_url: `https://github.com/${repo.owner}/${repo.name}/issues/${i.number}`,
      ...(i.updatedAt ? { updated_at: i.updatedAt } : {}),
    };
  }

  #commentJson(
    repo: Repo,
    c: { id: number; issue: number; body: string; user: Actor; createdAt: string; updatedAt: string },
  ): Json {
    return {
      id: c.id,
      body: c.body,
      user: actorJson(c.user),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      html_url: `https://github.com/${repo.owner}/${repo.name}/issues/${c.issue}#issuecomment-${c.id}`,
    };
  }

  #deploymentJson(repo: Repo, d: Deployment): Json {
    return {
      id: d.id,
      sha: d.sha,
      ref: d.ref,
      environment: d.environment,
      description: d.description,
      payload: d.payload,
      creator: actorJson(d.creator),
      created_at: d.createdAt,
      statuses_url: `${this.#url}/repos/${repo.owner}/${repo.name}/deployments/${d.id}/statuses`,
    };
  }
}

function actorOf(login: string): Actor {
  return { login, type: login.endsWith("[bot]") ? "Bot" : "User" };
}

function actorJson(a: Actor): Json {
  return { login: a.login, type: a.type };
}

function statusJson(s: {
  id: number;
  state: string;
  description: string;
  creator: Actor;
  createdAt: string;
}): Json {
  return {
    id: s.id,
    state: s.state,
    description: s.description,
    creator: actorJson(s.creator),
    created_at: s.createdAt,
  };
}

function releaseJson(r: {
  id: number;
  tagName: string;
  target: string;
  name: string;
  body: string;
  draft: boolean;
  author: Actor;
}): Json {
  return {
    id: r.id,
    tag_name: r.tagName,
    target_commitish: r.target,
    name: r.name,
    body: r.body,
    draft: r.draft,
    author: actorJson(r.author),
  };
}

function deliveryJson(d: Delivery): Json {
  return {
    id: d.id,
    guid: d.guid,
    delivered_at: d.deliveredAt,
    redelivery: d.redelivery,
    duration: d.durationMs / 1000,
    status:
      d.statusCode >= 200 && d.statusCode < 300
        ? "OK"
        : d.statusCode === 0
          ? "failed to connect to host"
          : `Invalid HTTP Response: ${d.statusCode}`,
    status_code: d.statusCode,
    event: d.event,
    action: d.action,
    installation_id: d.installationId,
    repository_id: d.repositoryId,
  };
}

/** Starts a stand-in on 127.0.0.1 (a free port unless given). */
export async function startGitHubApi(
  options: StandInOptions & { port?: number } = {},
): Promise<GitHubStandIn> {
  const api = new GitHubStandIn(options);
  await api.listen(options.port);
  return api;
}

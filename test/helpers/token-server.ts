// A token server like GHCR's or Docker Hub's, in front of the real docker-registry configured with
// `auth: token`: Basic credentials (or none) are checked against a table of users, the scope asked for
// is cut down to what the user may do (a read-only user asking for pull,push gets a pull token, as
// the real ones do), and the answer is a JWT signed with a key made in the test (openssl), whose
// certificate is the registry's rootcertbundle. The registry itself then checks every request's token
// and answers `insufficient_scope` when it lacks the action. Faults can be injected into the endpoint.
import { createSign, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { type LocalRegistry, startLocalRegistry } from "../../src/demo/sandbox/registry.js";

type Action = "pull" | "push";

export interface TokenUser {
  password: string;
  /** Repository → what this user may do there. */
  grants: Record<string, Action[]>;
}

export interface TokenPolicy {
  users: Record<string, TokenUser>;
  /** Repository → what anyone may do without a credential (public images). */
  anonymous?: Record<string, Action[]>;
}

export interface TokenRequest {
  user: string | null;
  /** The scopes asked for, as sent. */
  scopes: string[];
  /** What the issued token grants ("" when refused). */
  granted: string[];
  status: number;
}

/** The endpoint answers the next `times` requests with this instead of a token. */
export interface TokenFault {
  times: number;
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** The signing key's certificate (PEM), for the registry's rootcertbundle. */
  certFile: string;
  requests(): TokenRequest[];
  clearRequests(): void;
  fail(fault: TokenFault): void;
  /** A token granting `actions` on `repository`, for test setup (pushing images). */
  mint(repository: string, actions: Action[]): string;
  stop(): Promise<void>;
}

const SERVICE = "test-registry";
const ISSUER = "test-token-issuer";
const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export async function startTokenServer(policy: TokenPolicy): Promise<TokenServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-token-"));
  const keyFile = path.join(dir, "key.pem");
  const certFile = path.join(dir, "cert.pem");
  await execa("openssl", [
    "req",
    ...["-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"],
    ...["-keyout", keyFile, "-out", certFile, "-subj", "/CN=test token issuer"],
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,digitalSignature,keyCertSign"],
  ]);
  const key = await readFile(keyFile, "utf8");
  const certDer = Buffer.from(
    (await readFile(certFile, "utf8")).replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""),
    "base64",
  );

  const sign = (subject: string, access: Array<{ name: string; actions: Action[] }>) => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] };
    const claims = {
      iss: ISSUER,
      sub: subject,
      aud: SERVICE,
      iat: now,
      nbf: now - 10,
      exp: now + 300,
      jti: randomBytes(8).toString("hex"),
      access: access.map((a) => ({ type: "repository", name: a.name, actions: a.actions })),
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign("RSA-SHA256").update(input).sign(key);
    return `${input}.${b64url(signature)}`;
  };

  const recorded: TokenRequest[] = [];
  let fault: TokenFault | null = null;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://token");
    const scopes = url.searchParams.getAll("scope");
    const record = (status: number, user: string | null, granted: string[] = []) =>
      recorded.push({ user, scopes, granted, status });
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(body);
    };
    const auth = req.headers.authorization ?? "";
    const basic = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString() : null;
    const name = basic?.slice(0, basic.indexOf(":")) ?? null;
    if (fault && fault.times > 0) {
      fault.times--;
      record(fault.status, name);
      return answer(fault.status, fault.body ?? "", fault.headers);
    }
    if (url.pathname !== "/token") return answer(404, "{}");
    const user = name !== null ? policy.users[name] : undefined;
    if (basic !== null && (!user || basic !== `${name}:${user.password}`)) {
      record(401, name);
      return answer(401, JSON.stringify({ details: "incorrect username or password" }));
    }
    const allowed = user ? user.grants : (policy.anonymous ?? {});
    // Each scope is cut down to what the user may do; nothing allowed is an empty grant, not a refusal.
    const access = scopes.flatMap((scope) => {
      const [type, repository, actions] = scope.split(":");
      if (type !== "repository" || !repository) return [];
      const may = allowed[repository] ?? [];
      const granted = (actions ?? "").split(",").filter((a): a is Action => may.includes(a as Action));
      return granted.length > 0 ? [{ name: repository, actions: granted }] : [];
    });
    record(
      200,
      name,
      access.map((a) => `repository:${a.name}:${a.actions.join(",")}`),
    );
    const token = sign(name ?? "", access);
    answer(200, JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: SERVICE,
    issuer: ISSUER,
    certFile,
    requests: () => recorded.slice(),
    clearRequests: () => void recorded.splice(0),
    fail: (next) => void (fault = { ...next }),
    mint: (repository, actions) => sign("setup", [{ name: repository, actions }]),
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The real docker-registry behind its recording proxy, with token auth from a token server of ours. */
export async function startTokenRegistry(
  policy: TokenPolicy,
): Promise<{ registry: LocalRegistry; tokens: TokenServer; stop(): Promise<void> }> {
  const tokens = await startTokenServer(policy);
  const registry = await startLocalRegistry({
    tokenAuth: {
      realm: tokens.realm,
      service: tokens.service,
      issuer: tokens.issuer,
      rootCertBundle: tokens.certFile,
    },
  }).catch(async (error: unknown) => {
    await tokens.stop();
    throw error;
  });
  return {
    registry,
    tokens,
    async stop() {
      await registry.stop();
      await tokens.stop();
    },
  };
}

// Token auth as GHCR and Docker Hub do it, for real: docker-registry with `auth: token` checks the JWTs
// a token server of ours issues (test/helpers/token-server.ts), scoped down to what each user may do.
// The token endpoint shares the retry policy of every registry request, and a credential that is
// accepted but may not push is told apart from one that is rejected.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { RetagError, createRegistryClient } from "../../src/registry/index.js";
import type { RegistryOptions } from "../../src/registry/client.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { createServiceRepo } from "../helpers/service-repo.js";
import { type TokenServer, startTokenRegistry } from "../helpers/token-server.js";
import type { TestRegistry } from "../helpers/registry.js";

const READER = { user: "reader", password: "read-0nly-pw" };
const WRITER = { user: "writer", password: "wr1te-pw" };
const REPOS = Array.from({ length: 10 }, (_, i) => `acme/svc${i}`);
const images = REPOS.map((repo) => buildImage({ layers: [{ "etc/name": repo }] }));

let registry: TestRegistry;
let tokens: TokenServer;
let stop: () => Promise<void>;
let tmp: string;
let sleeps: number[];

beforeAll(async () => {
  const all = Object.fromEntries(REPOS.map((r) => [r, ["pull", "push"] as Array<"pull" | "push">]));
  const readOnly = Object.fromEntries(REPOS.map((r) => [r, ["pull"] as Array<"pull" | "push">]));
  ({ registry, tokens, stop } = await startTokenRegistry({
    users: {
      [READER.user]: { password: READER.password, grants: readOnly },
      [WRITER.user]: { password: WRITER.password, grants: all },
    },
    anonymous: { "acme/svc0": ["pull"] },
  }));
  for (const [i, repo] of REPOS.entries()) {
    await pushTestImage(registry.directHost, repo, "1.0", images[i]!, {
      bearer: tokens.mint(repo, ["pull", "push"]),
    });
  }
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-token-auth-"));
});
afterEach(() => tokens.fail({ times: 0, status: 200 }));
afterAll(async () => {
  await stop?.();
  await rm(tmp, { recursive: true, force: true });
});

async function authFile(who: { user: string; password: string }): Promise<string> {
  const file = path.join(tmp, `${who.user}.json`);
  const auth = Buffer.from(`${who.user}:${who.password}`).toString("base64");
  await writeFile(file, JSON.stringify({ auths: { [registry.host]: { auth } } }));
  return file;
}

async function client(who: { user: string; password: string } | null, options: RegistryOptions = {}) {
  sleeps = [];
  const env = who ? { REGISTRY_AUTH_FILE: await authFile(who) } : { HOME: path.join(tmp, "nobody") };
  return createRegistryClient({
    env,
    random: () => 0,
    baseDelayMs: 100,
    sleep: async (ms) => void sleeps.push(ms),
    ...options,
  });
}
const ref = (repo: string, tag = "1.0") => `${registry.host}/${repo}:${tag}`;

describe("token auth against docker-registry", () => {
  it("reads with a pull token the registry itself verified", async () => {
    tokens.clearRequests();
    const c = await client(READER);
    expect(await c.digest(ref("acme/svc1"))).toBe(images[1]!.manifest.digest);
    expect(tokens.requests()).toEqual([
      {
        user: "reader",
        scopes: ["repository:acme/svc1:pull"],
        granted: ["repository:acme/svc1:pull"],
        status: 200,
      },
    ]);
  });

  it("shares one token request between concurrent calls, and one 401 per host", async () => {
    tokens.clearRequests();
    registry.clearRequests();
    const c = await client(null);
    const digests = await Promise.all(Array.from({ length: 10 }, () => c.digest(ref("acme/svc0"))));
    expect(new Set(digests)).toEqual(new Set([images[0]!.manifest.digest]));
    expect(tokens.requests()).toEqual([
      {
        user: null,
        scopes: ["repository:acme/svc0:pull"],
        granted: ["repository:acme/svc0:pull"],
        status: 200,
      },
    ]);
    expect(registry.requests().filter((r) => r.status === 401)).toHaveLength(1);
    expect(registry.requests().filter((r) => r.status === 200)).toHaveLength(10);
    expect(c.stats()).toEqual({ requests: 11, tokenRequests: 1 });
  });

  it("retags with one pull,push token that also serves later pulls, sending the credential to the realm", async () => {
    tokens.clearRequests();
    const c = await client(WRITER);
    expect(await c.retag(ref("acme/svc7"), ["bearer"])).toEqual([
      { tag: "bearer", status: "created", digest: images[7]!.manifest.digest },
    ]);
    expect(await c.digest(ref("acme/svc7", "bearer"))).toBe(images[7]!.manifest.digest);
    const scope = "repository:acme/svc7:pull,push";
    expect(tokens.requests()).toEqual([{ user: "writer", scopes: [scope], granted: [scope], status: 200 }]);
  });

  it("with pushAccess, a lookup and a retag share one pull,push token", async () => {
    tokens.clearRequests();
    const c = await client(WRITER, { pushAccess: true });
    const digest = await c.digest(ref("acme/svc8"));
    await c.retag(`${registry.host}/acme/svc8@${digest}`, ["shared-token"]);
    expect(tokens.requests().map((r) => r.scopes)).toEqual([["repository:acme/svc8:pull,push"]]);
  });

  it("[fault:token-endpoint-5xx] retries the token endpoint's 500s like any registry request: ten services, all resolved", async () => {
    tokens.clearRequests();
    tokens.fail({ times: 2, status: 500, body: "upstream identity provider unavailable" });
    const c = await client(WRITER);
    const digests = await Promise.all(REPOS.map((repo) => c.digest(ref(repo))));
    expect(digests).toEqual(images.map((i) => i.manifest.digest));
    // The first request to the host goes alone and meets both 500s; backoff as for the registry.
    expect(sleeps).toEqual([100, 200]);
    expect(tokens.requests().map((r) => r.status)).toEqual([500, 500, ...REPOS.map(() => 200)]);
  });

  it("[fault:token-endpoint-5xx] waits as long as the token endpoint's 429 Retry-After says", async () => {
    tokens.fail({ times: 1, status: 429, headers: { "retry-after": "2" }, body: "slow down" });
    const c = await client(WRITER);
    expect(await c.digest(ref("acme/svc2"))).toBe(images[2]!.manifest.digest);
    expect(sleeps).toEqual([2000]);
  });

  it("[fault:token-endpoint-5xx] a token endpoint that keeps failing: one clear error after the bounded attempts", async () => {
    tokens.fail({ times: 100, status: 503, body: "maintenance" });
    const c = await client(WRITER);
    await expect(c.digest(ref("acme/svc3"))).rejects.toThrow(
      `${ref("acme/svc3")}: authentication failed: token endpoint ${tokens.realm} answered HTTP 503: ` +
        "maintenance, after 4 attempts",
    );
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it("[fault:insufficient-scope] a read-only credential retagging: says it may not push that repository, not that it was rejected", async () => {
    const c = await client(READER);
    const error = await c.retag(ref("acme/svc4"), ["deployed"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetagError);
    const message = (error as Error).message;
    expect(message).toBe(
      `${ref("acme/svc4")}: retag failed for deployed: PUT manifests/deployed → HTTP 401: ` +
        `authentication required (UNAUTHORIZED); the credential for ${registry.host} was accepted, ` +
        `but may not push ${registry.host}/acme/svc4: grant it push access to that repository`,
    );
    expect(message).not.toContain("rejected");
    expect(message).not.toContain(READER.password);
    // The same credential with write access retags.
    const writer = await client(WRITER);
    expect(await writer.retag(ref("acme/svc4"), ["deployed"])).toEqual([
      { tag: "deployed", status: "created", digest: images[4]!.manifest.digest },
    ]);
  });

  it("[fault:insufficient-scope] a credential that may not pull a repository, and anonymous access, say so too", async () => {
    const outsider = await client({ user: "writer", password: WRITER.password });
    const denied = await outsider.digest(ref("acme/private")).then(
      () => "resolved",
      (e: unknown) => (e as Error).message,
    );
    expect(denied).toContain(
      `the credential for ${registry.host} was accepted, but may not pull ${registry.host}/acme/private`,
    );
    const anonymous = await client(null);
    expect(await anonymous.digest(ref("acme/svc0"))).toBe(images[0]!.manifest.digest);
    const hidden = await anonymous.digest(ref("acme/svc5")).then(
      () => "resolved",
      (e: unknown) => (e as Error).message,
    );
    expect(hidden).toContain(`anonymous access may not pull ${registry.host}/acme/svc5; no auth file found`);
  });

  it("a wrong password is still said to be rejected (by the token endpoint)", async () => {
    const c = await client({ user: READER.user, password: "not-it" });
    await expect(c.digest(ref("acme/svc1"))).rejects.toThrow(
      `authentication failed: token endpoint ${tokens.realm} answered HTTP 401: ` +
        '{"details":"incorrect username or password"}',
    );
  });

  it("[fault:insufficient-scope] apply with a read-only credential: the unchanged service is an error saying it may not push there", async () => {
    const repo = path.join(tmp, "repo");
    const git = await createServiceRepo(repo, registry.host, { svc6: `1.0@${images[6]!.manifest.digest}` });
    const config = path.join(repo, ".github/nomad-gitops.yml");
    await writeFile(
      config,
      `registry: ${registry.host}/acme\nservices:\n  - { name: svc6, image: ${registry.host}/acme/svc6 }\nretag: [deployed]\n`,
    );
    await git("commit", "-qam", "retag deployed");
    const build = await git("rev-parse", "HEAD");
    await pushTestImage(registry.directHost, "acme/svc6", build, images[6]!, {
      bearer: tokens.mint("acme/svc6", ["pull", "push"]),
    });
    const apply = async (who: { user: string; password: string }) => {
      const cap = captureIO({ cwd: repo, env: { REGISTRY_AUTH_FILE: await authFile(who) } });
      const code = await main(["apply", "--json"], cap.io);
      const out = JSON.parse(cap.stdout) as { services: Array<{ status: string; reason?: string }> };
      return { code, service: out.services[0]! };
    };
    const denied = await apply(READER);
    expect(denied.code).toBe(1);
    expect(denied.service.status).toBe("error");
    expect(denied.service.reason).toContain(
      `retag deployed: ${registry.host}/acme/svc6@${images[6]!.manifest.digest}: retag failed for deployed: ` +
        `PUT manifests/deployed → HTTP 401: authentication required (UNAUTHORIZED); the credential for ` +
        `${registry.host} was accepted, but may not push ${registry.host}/acme/svc6`,
    );
    const granted = await apply(WRITER);
    expect(granted).toEqual({ code: 0, service: expect.objectContaining({ status: "unchanged" }) });
  });
});

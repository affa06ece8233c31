import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/index.js";
import { loadCredentials, normalizeAuthKey } from "../../src/registry/credentials.js";
import { parseChallenge } from "../../src/registry/auth.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

const USER = "deployer";
const PASSWORD = "s3cret-Pa55word";
const app = buildImage({ layers: [{ "etc/app": "auth" }] });
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-auth-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function authFile(name: string, content: unknown): Promise<string> {
  const file = path.join(tmp, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(content));
  return file;
}
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("auth files", () => {
  it("reads REGISTRY_AUTH_FILE first, then XDG_RUNTIME_DIR, then ~/.docker/config.json", async () => {
    const first = await authFile("a/auth.json", { auths: { "r.example": { auth: b64("one:1") } } });
    await authFile("xdg/containers/auth.json", { auths: { "r.example": { auth: b64("two:2") } } });
    await authFile("home/.docker/config.json", {
      auths: { "https://index.docker.io/v1/": { auth: b64("hub:3") } },
    });
    const xdg = path.join(tmp, "xdg");
    const home = path.join(tmp, "home");
    expect(
      loadCredentials({ REGISTRY_AUTH_FILE: first, XDG_RUNTIME_DIR: xdg, HOME: home }).forHost("r.example"),
    ).toEqual({ username: "one", password: "1" });
    expect(loadCredentials({ XDG_RUNTIME_DIR: xdg, HOME: home }).forHost("r.example")).toEqual({
      username: "two",
      password: "2",
    });
    expect(loadCredentials({ HOME: home }).forHost("docker.io")).toEqual({ username: "hub", password: "3" });
    expect(loadCredentials({ HOME: home }).forHost("r.example")).toBeNull();
  });

  it("normalises auth keys", () => {
    expect(normalizeAuthKey("https://index.docker.io/v1/")).toBe("docker.io");
    expect(normalizeAuthKey("registry-1.docker.io")).toBe("docker.io");
    expect(normalizeAuthKey("https://GHCR.io/")).toBe("ghcr.io");
    expect(normalizeAuthKey("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });

  it("says so when the file relies on a credential helper", async () => {
    const file = await authFile("helper.json", { auths: {}, credsStore: "desktop" });
    expect(loadCredentials({ REGISTRY_AUTH_FILE: file }).explainMissing("ghcr.io")).toBe(
      `no credential for ghcr.io in ${file}; it configures credsStore "desktop", but credential helpers ` +
        'are not supported: put an "auth" entry for ghcr.io in the file',
    );
  });

  it("rejects a malformed entry without quoting it", async () => {
    const file = await authFile("bad.json", { auths: { "r.example": { auth: b64("no-colon-secret") } } });
    let message = "";
    try {
      loadCredentials({ REGISTRY_AUTH_FILE: file });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(`auth file ${file}: auths["r.example"].auth is not base64 of user:password`);
  });

  it("parses challenges", () => {
    expect(
      parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'),
    ).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "reg", scope: "repository:a/b:pull" },
    });
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: "basic", params: { realm: "x" } });
    expect(parseChallenge("Negotiate")).toBeNull();
  });
});

describe("Basic auth (registry with htpasswd)", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    await pushTestImage(registry.directHost, "acme/app", "1.0", app, { basic: `${USER}:${PASSWORD}` });
  });
  afterAll(() => registry?.stop());

  it("answers the challenge once per host, then sends the credential up front", async () => {
    const file = await authFile("basic.json", {
      auths: { [registry.host]: { auth: b64(`${USER}:${PASSWORD}`) } },
    });
    const client = createRegistryClient({ env: { REGISTRY_AUTH_FILE: file } });
    registry.clearRequests();
    expect(await client.digest(`${registry.host}/acme/app:1.0`)).toBe(app.manifest.digest);
    expect(await client.retag(`${registry.host}/acme/app:1.0`, ["basic"])).toEqual([
      { tag: "basic", status: "created", digest: app.manifest.digest },
    ]);
    expect(registry.requests().map((r) => `${r.method} ${r.status}`)).toEqual([
      "HEAD 401",
      "HEAD 200",
      "HEAD 404",
      "GET 200",
      "PUT 201",
    ]);
  });

  it("without a credential, says where it looked", async () => {
    const home = path.join(tmp, "empty-home");
    const error = (await createRegistryClient({ env: { HOME: home } })
      .digest(`${registry.host}/acme/app:1.0`)
      .catch((e: unknown) => e)) as Error & { status: number };
    expect(error.status).toBe(401);
    expect(error.message).toBe(
      `${registry.host}/acme/app:1.0: GET manifests/1.0 → HTTP 401: authentication required (UNAUTHORIZED); ` +
        `no auth file found (looked for ${home}/.docker/config.json)`,
    );
  });

  it("with a wrong password, says it was rejected and never shows it", async () => {
    const file = await authFile("wrong.json", {
      auths: { [registry.host]: { auth: b64(`${USER}:wrong-pw`) } },
    });
    const error = (await createRegistryClient({ env: { REGISTRY_AUTH_FILE: file } })
      .digest(`${registry.host}/acme/app:1.0`)
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(
      "HTTP 401: authentication required (UNAUTHORIZED); the credential was rejected",
    );
    expect(error.message).not.toContain("wrong-pw");
    expect(error.message).not.toContain(b64(`${USER}:wrong-pw`));
  });
});

// Token auth with the real registry checking real JWTs is in token-auth.test.ts; here the proxy plays the
// registry's token check, for what docker-registry cannot do on demand: revoke a live token.
describe("Bearer token flow (token check in the proxy)", () => {
  let registry: TestRegistry;
  const issued = new Map<string, { scope: string; user: string | null }>();
  const tokenRequests: Array<{ scope: string; user: string | null }> = [];
  let revokedUpTo = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(registry.directHost, "acme/app", "1.0", app);
    const realm = `http://${registry.host}/token`;
    registry.intercept({
      request(req) {
        const url = new URL(req.path, "http://x");
        const auth = req.headers.authorization ?? "";
        if (url.pathname === "/token") {
          const user = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString() : null;
          if (user !== null && user !== `${USER}:${PASSWORD}`) {
            return { status: 401, body: JSON.stringify({ details: "incorrect username or password" }) };
          }
          const scope = url.searchParams.get("scope") ?? "";
          const token = `tok-${issued.size + 1}`;
          issued.set(token, { scope, user });
          tokenRequests.push({ scope, user: user?.split(":")[0] ?? null });
          return { status: 200, body: JSON.stringify({ token, expires_in: 60 }) };
        }
        const repo = /^\/v2\/(.+)\/manifests\//.exec(url.pathname)?.[1] ?? "";
        const action = req.method === "PUT" ? "push" : "pull";
        const presented = auth.startsWith("Bearer ") ? auth.slice(7) : "";
        const live = Number(presented.slice(4)) > revokedUpTo;
        const grant = live ? issued.get(presented) : undefined;
        const [, grantRepo, actions] = grant?.scope.split(":") ?? [];
        if (grantRepo === repo && actions?.split(",").includes(action)) return undefined;
        return {
          status: 401,
          headers: {
            "www-authenticate": `Bearer realm="${realm}",service="test-registry",scope="repository:${repo}:${action}"`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
        };
      },
    });
  });
  afterAll(() => registry?.stop());

  it("renews a token before it expires", async () => {
    let now = 1_000_000;
    tokenRequests.length = 0;
    const client = createRegistryClient({ env: {}, now: () => now });
    await client.digest(`${registry.host}/acme/app:1.0`);
    now += 40_000; // inside the 60 s lifetime, before the renewal margin
    await client.digest(`${registry.host}/acme/app:1.0`);
    expect(tokenRequests).toHaveLength(1);
    now += 10_000; // 50 s: within 15 s of expiry, renew
    await client.digest(`${registry.host}/acme/app:1.0`);
    expect(tokenRequests).toHaveLength(2);
  });

  it("gets a new token when the registry stops accepting the old one", async () => {
    const client = createRegistryClient({ env: {} });
    await client.digest(`${registry.host}/acme/app:1.0`);
    tokenRequests.length = 0;
    revokedUpTo = issued.size;
    registry.clearRequests();
    expect(await client.digest(`${registry.host}/acme/app:1.0`)).toBe(app.manifest.digest);
    expect(tokenRequests).toHaveLength(1);
    expect(registry.requests().map((r) => `${r.method} ${r.status}`)).toEqual([
      "HEAD 401",
      "GET 200",
      "HEAD 200",
    ]);
  });
});

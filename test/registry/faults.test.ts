// Faults injected by the recording proxy in front of the real registry: each is a clear error for
// that image only, retries are bounded and waits go through an injected sleep (no real waiting).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetagError, createRegistryClient } from "../../src/registry/index.js";
import { type RegistryOptions } from "../../src/registry/client.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, freePort, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const app = buildImage({ layers: [{ "etc/app": "faults" }] });
const other = buildImage({ layers: [{ "etc/app": "other" }] });
let sleeps: number[];

function client(options: RegistryOptions = {}) {
  sleeps = [];
  return createRegistryClient({
    env: {},
    random: () => 0,
    baseDelayMs: 100,
    sleep: async (ms) => void sleeps.push(ms),
    ...options,
  });
}
const ref = (tag = "1.0") => `${registry.host}/acme/app:${tag}`;
const registryError = (code: string, message: string) => JSON.stringify({ errors: [{ code, message }] });

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/app", "1.0", app);
  await pushTestImage(registry.directHost, "acme/app", "other", other);
});
afterAll(() => registry?.stop());

/** Answers the first `times` matching requests with the given response. */
function failFirst(times: number, status: number, headers: Record<string, string> = {}, body = "") {
  let left = times;
  registry.intercept({
    request: (req) =>
      req.path.startsWith("/v2/acme/") && left-- > 0 ? { status, headers, body } : undefined,
  });
}

describe("retries", () => {
  it("[fault:http-429] waits as long as a 429's Retry-After says, then succeeds", async () => {
    failFirst(2, 429, { "retry-after": "3" }, registryError("TOOMANYREQUESTS", "slow down"));
    try {
      expect(await client().digest(ref())).toBe(app.manifest.digest);
    } finally {
      registry.intercept(null);
    }
    expect(sleeps).toEqual([3000, 3000]);
  });

  it("[fault:http-5xx] backs off exponentially on 500s", async () => {
    failFirst(3, 500);
    try {
      expect(await client().digest(ref())).toBe(app.manifest.digest);
    } finally {
      registry.intercept(null);
    }
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it("[fault:http-5xx-lasting] gives up after the bounded attempts with the registry's own message", async () => {
    registry.intercept({
      request: () => ({ status: 503, body: registryError("UNAVAILABLE", "storage backend is on fire") }),
    });
    registry.clearRequests();
    try {
      await expect(client().manifest(ref())).rejects.toThrow(
        `${ref()}: GET manifests/1.0 → HTTP 503: storage backend is on fire (UNAVAILABLE), after 4 attempts`,
      );
      // digest(): HEAD answers carry no body, so one GET fetches the message.
      registry.clearRequests();
      await expect(client().digest(ref())).rejects.toThrow(
        "HTTP 503: storage backend is on fire (UNAVAILABLE), after 4 attempts",
      );
      expect(registry.requests().map((r) => r.method)).toEqual(["HEAD", "HEAD", "HEAD", "HEAD", "GET"]);
    } finally {
      registry.intercept(null);
    }
  });

  it("[fault:retry-after-too-long] does not wait for a Retry-After beyond the bound", async () => {
    failFirst(1, 429, { "retry-after": "600" }, registryError("TOOMANYREQUESTS", "quota exhausted"));
    try {
      await expect(client({ maxDelayMs: 60_000 }).manifest(ref())).rejects.toThrow(
        "HTTP 429: quota exhausted (TOOMANYREQUESTS), and asks to retry after 600 s (more than the 60 s allowed)",
      );
    } finally {
      registry.intercept(null);
    }
    expect(sleeps).toEqual([]);
  });

  it("[fault:registry-down] reports a registry that is down, after bounded retries", async () => {
    const port = await freePort();
    const error = await client()
      .digest(`127.0.0.1:${port}/acme/app:1.0`)
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `127.0.0.1:${port}/acme/app:1.0: cannot reach registry 127.0.0.1:${port} ` +
        `(HEAD http://127.0.0.1:${port}/v2/acme/app/manifests/1.0): connect ECONNREFUSED 127.0.0.1:${port}, after 4 attempts`,
    );
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it("[fault:registry-down] fails the other images of a dead registry at once instead of retrying each", async () => {
    const port = await freePort();
    const c = client();
    const results = await Promise.allSettled(
      ["a", "b", "c"].map((name) => c.digest(`127.0.0.1:${port}/acme/${name}:1.0`)),
    );
    const messages = results.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok"));
    expect(messages[0]).toContain(`ECONNREFUSED 127.0.0.1:${port}, after 4 attempts`);
    expect(messages.slice(1)).toEqual(
      ["b", "c"].map(
        (name) =>
          `127.0.0.1:${port}/acme/${name}:1.0: registry 127.0.0.1:${port} is unreachable ` +
          `(connect ECONNREFUSED 127.0.0.1:${port}); not retried`,
      ),
    );
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it("[fault:registry-hang] times out a registry that never answers", async () => {
    let release!: () => void;
    const hang = new Promise<undefined>((resolve) => (release = () => resolve(undefined)));
    registry.intercept({ request: () => hang });
    try {
      await expect(client({ timeoutMs: 300, maxAttempts: 2 }).digest(ref())).rejects.toThrow(
        "timed out, after 2 attempts",
      );
    } finally {
      registry.intercept(null);
      release();
    }
  });
});

describe("untrusted answers", () => {
  it("rejects a manifest whose bytes do not match the announced digest", async () => {
    registry.intercept({
      responseHeaders: (req, _s, headers) => {
        if (req.method === "GET") headers["docker-content-digest"] = other.manifest.digest;
      },
    });
    try {
      await expect(client().manifest(ref())).rejects.toThrow(
        `registry served a manifest whose bytes hash to ${app.manifest.digest}, not the ${other.manifest.digest} it announced: not trusted`,
      );
    } finally {
      registry.intercept(null);
    }
  });

  it("rejects other bytes served for a digest, and retags nothing", async () => {
    registry.intercept({
      request: (req) =>
        req.method === "GET" && req.path.endsWith(app.manifest.digest)
          ? {
              status: 200,
              headers: { "content-type": other.mediaType, "docker-content-digest": app.manifest.digest },
              body: Buffer.from(other.manifest.bytes).toString(),
            }
          : undefined,
    });
    registry.clearRequests();
    try {
      await expect(
        client().retag(`${registry.host}/acme/app@${app.manifest.digest}`, ["evil"]),
      ).rejects.toThrow(
        `registry served a manifest whose bytes hash to ${other.manifest.digest}, not the ${app.manifest.digest} it was asked for: not trusted`,
      );
    } finally {
      registry.intercept(null);
    }
    expect(registry.requests().some((r) => r.method === "PUT")).toBe(false);
  });

  it("rejects a HEAD that answers another digest than the one asked for", async () => {
    registry.intercept({
      responseHeaders: (req, _s, headers) => {
        if (req.method === "HEAD") headers["docker-content-digest"] = other.manifest.digest;
      },
    });
    try {
      await expect(client().digest(`${registry.host}/acme/app@${app.manifest.digest}`)).rejects.toThrow(
        `registry answered digest ${other.manifest.digest} for ${app.manifest.digest}: not trusted`,
      );
    } finally {
      registry.intercept(null);
    }
  });
});

describe("isolation", () => {
  it("[fault:retag-refused] a failing tag does not stop the others", async () => {
    registry.intercept({
      request: (req) =>
        req.method === "PUT" && req.path.endsWith("/manifests/broken")
          ? { status: 400, body: registryError("TAG_INVALID", "tag refused by policy") }
          : undefined,
    });
    try {
      const error = (await client()
        .retag(ref(), ["a1", "broken", "a2"], { checkExisting: false })
        .catch((e: unknown) => e)) as RetagError;
      expect(error).toBeInstanceOf(RetagError);
      expect(error.results.map((r) => `${r.status} ${r.tag}`)).toEqual(["created a1", "created a2"]);
      expect(error.failures).toEqual([
        "broken: PUT manifests/broken → HTTP 400: tag refused by policy (TAG_INVALID)",
      ]);
    } finally {
      registry.intercept(null);
    }
    expect(await client().digest(ref("a2"))).toBe(app.manifest.digest);
  });

  it("keeps at most concurrencyPerHost requests in flight per host", async () => {
    let inFlight = 0;
    let max = 0;
    registry.intercept({
      request: async () => {
        inFlight++;
        max = Math.max(max, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 30));
        inFlight--;
        return undefined;
      },
    });
    try {
      const c = client({ concurrencyPerHost: 3 });
      const digests = await Promise.all(Array.from({ length: 12 }, () => c.digest(ref())));
      expect(new Set(digests)).toEqual(new Set([app.manifest.digest]));
    } finally {
      registry.intercept(null);
    }
    expect(max).toBe(3);
  });

  it("[fault:registry-follow-up-first] sends a waiting GET before waiting HEADs: a follow-up does not queue behind every lookup", async () => {
    const seen: string[] = [];
    registry.intercept({
      request: (req) => {
        seen.push(req.method);
        return undefined;
      },
    });
    try {
      const c = client({ concurrencyPerHost: 2 });
      // The first request goes alone (it learns the auth challenge); then 2 HEADs take the slots and
      // the rest wait: 9 HEADs queued before the GET.
      const lookups = Array.from({ length: 12 }, () => c.digest(ref()));
      const manifest = c.manifest(ref());
      await Promise.all([...lookups, manifest]);
    } finally {
      registry.intercept(null);
    }
    expect(seen).toHaveLength(13);
    expect(seen.indexOf("GET")).toBe(3);
  });
});

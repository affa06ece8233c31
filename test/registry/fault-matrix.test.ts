// The fault matrix, through the recording proxy in front of the real registry: for each kind of request
// the bot makes (HEAD of a tag, GET of a manifest, GET of a blob, PUT of a manifest), a 500, a 429 with
// Retry-After, a reset connection and a slow answer, once (retried: the result is exactly what a healthy
// registry gives) and lasting (a clear error naming the request and the status; nothing written). Waits
// go through an injected sleep.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CountingRegistryClient, createRegistryClient } from "../../src/registry/index.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import {
  type InjectedReset,
  type InjectedResponse,
  type ProxyRequest,
  type TestRegistry,
  startRegistry,
} from "../helpers/registry.js";

let registry: TestRegistry;
let sleeps: number[];
const app = buildImage({ layers: [{ "etc/app": "matrix" }] });
const ref = (tag: string) => `${registry.host}/matrix/app:${tag}`;

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "matrix/app", "1.0", app);
});
afterEach(() => registry.intercept(null));
afterAll(() => registry?.stop());

function client(): CountingRegistryClient {
  sleeps = [];
  return createRegistryClient({
    env: {},
    random: () => 0,
    baseDelayMs: 100,
    sleep: async (ms) => void sleeps.push(ms),
  });
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

interface Kind {
  name: string;
  matches(req: ProxyRequest): boolean;
  /** The operation, returning what a healthy registry gives. */
  run(tag: string): Promise<string>;
  healthy(tag: string): string;
  /** What the error names. */
  request: string;
}

const KINDS: Kind[] = [
  {
    name: "HEAD manifest",
    matches: (r) => r.method === "HEAD" && r.path.includes("/manifests/"),
    run: (tag) => client().digest(ref(tag)),
    healthy: () => app.manifest.digest,
    request: "manifests/",
  },
  {
    name: "GET manifest",
    matches: (r) => r.method === "GET" && r.path.includes("/manifests/"),
    run: async (tag) => (await client().manifest(ref(tag))).digest,
    healthy: () => app.manifest.digest,
    request: "GET manifests/",
  },
  {
    name: "GET blob",
    matches: (r) => r.method === "GET" && r.path.includes("/blobs/"),
    run: async () => text((await client().blob(ref("1.0"), app.config.digest)).stream),
    healthy: () => Buffer.from(app.config.bytes).toString(),
    request: "blobs/",
  },
  {
    name: "PUT manifest",
    matches: (r) => r.method === "PUT" && r.path.includes("/manifests/"),
    run: async (tag) => {
      const [result] = await client().retag(ref("1.0"), [`put-${tag}`], { checkExisting: false });
      return result!.digest;
    },
    healthy: () => app.manifest.digest,
    request: "PUT manifests/put-",
  },
];

/** Answers the first `times` requests of the kind with `answer`, then lets the registry answer. */
function inject(kind: Kind, times: number, answer: InjectedResponse | InjectedReset | "slow") {
  let left = times;
  registry.intercept({
    request: async (req) => {
      if (!req.path.startsWith("/v2/matrix/") || !kind.matches(req) || left-- <= 0) return undefined;
      if (answer === "slow") {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return undefined;
      }
      return answer;
    },
  });
}

const unavailable = JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "backend busy" }] });
const tooMany = JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] });
let n = 0;
const tag = () => `t${++n}`;

describe.each(KINDS.map((k) => [k.name, k] as const))("%s", (_name, kind) => {
  it("[fault:http-5xx] a 500 once: retried after a backoff, same result", async () => {
    const t = tag();
    if (kind.name === "GET manifest" || kind.name === "HEAD manifest") await client().retag(ref("1.0"), [t]);
    inject(kind, 1, { status: 500, body: unavailable });
    expect(await kind.run(t)).toBe(kind.healthy(t));
    expect(sleeps).toEqual([100]);
  });

  it("[fault:http-429] a 429 with Retry-After once: waits as asked, same result", async () => {
    const t = tag();
    if (kind.name === "GET manifest" || kind.name === "HEAD manifest") await client().retag(ref("1.0"), [t]);
    inject(kind, 1, { status: 429, headers: { "retry-after": "2" }, body: tooMany });
    expect(await kind.run(t)).toBe(kind.healthy(t));
    expect(sleeps).toEqual([2000]);
  });

  it("[fault:connection-reset] a reset connection once: retried, same result", async () => {
    const t = tag();
    if (kind.name === "GET manifest" || kind.name === "HEAD manifest") await client().retag(ref("1.0"), [t]);
    inject(kind, 1, { reset: true });
    expect(await kind.run(t)).toBe(kind.healthy(t));
    expect(sleeps).toEqual([100]);
  });

  it("[fault:slow-answer] a slow answer (within the timeout): waited for, not retried, same result", async () => {
    const t = tag();
    if (kind.name === "GET manifest" || kind.name === "HEAD manifest") await client().retag(ref("1.0"), [t]);
    inject(kind, 1, "slow");
    registry.clearRequests();
    expect(await kind.run(t)).toBe(kind.healthy(t));
    expect(sleeps).toEqual([]);
  });

  it("[fault:http-5xx-lasting] a lasting 503: a clear error after 4 attempts, and nothing written", async () => {
    const t = tag();
    if (kind.name === "GET manifest" || kind.name === "HEAD manifest") await client().retag(ref("1.0"), [t]);
    inject(kind, 100, { status: 503, body: unavailable });
    registry.clearRequests();
    if (kind.name === "HEAD manifest") {
      // A HEAD that keeps failing is followed by one GET (for the registry's message): the manifest
      // it brings is hashed, so the digest is still proven.
      expect(await kind.run(t)).toBe(kind.healthy(t));
      expect(registry.requests().map((r) => `${r.method} ${r.status}`)).toEqual([
        ...Array<string>(4).fill("HEAD 503"),
        "GET 200",
      ]);
      return;
    }
    const error = await kind.run(t).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/HTTP 503: backend busy \(UNAVAILABLE\), after 4 attempts/);
    expect((error as Error).message).toContain(kind.request);
    expect(sleeps).toEqual([100, 200, 400]);
    registry.intercept(null);
    if (kind.name === "PUT manifest") {
      await expect(client().digest(ref(`put-${t}`))).rejects.toThrow(/not found/);
    }
  });
});

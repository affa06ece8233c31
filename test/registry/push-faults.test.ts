// skopeo pushes through the fault-injecting proxy in front of the real registry: transient failures
// (5xx, 429, a reset connection) are retried by the same policy as the client's own requests, with
// waits through the injected sleep; a lasting fault or a refusal fails the push clearly and leaves the
// tag unwritten.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient, pushImage } from "../../src/registry/index.js";
import type { PushOptions } from "../../src/registry/skopeo.js";
import { buildImage, writeDockerArchive } from "../helpers/oci.js";
import { type ProxyRequest, type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let tmp: string;
let sleeps: number[];

beforeAll(async () => {
  registry = await startRegistry();
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-push-faults-"));
});
afterEach(() => registry.intercept(null));
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const options = (): PushOptions => {
  sleeps = [];
  return { env: {}, random: () => 0, baseDelayMs: 100, sleep: async (ms) => void sleeps.push(ms) };
};
const registryError = (code: string, message: string) => JSON.stringify({ errors: [{ code, message }] });
const isBlobWrite = (r: ProxyRequest) => /^(PATCH|PUT)$/.test(r.method) && r.path.includes("/blobs/uploads/");
const isManifestPut = (r: { method: string; path: string }) =>
  r.method === "PUT" && r.path.includes("/manifests/");

/** Fails the first `times` requests of one repository that `match` selects. */
function failFirst(
  repository: string,
  match: (r: ProxyRequest) => boolean,
  times: number,
  answer: { status: number; headers?: Record<string, string>; body?: string } | { reset: true },
) {
  let left = times;
  registry.intercept({
    request: (req) =>
      req.path.startsWith(`/v2/${repository}/`) && match(req) && left-- > 0 ? answer : undefined,
  });
}

async function archive(name: string) {
  const image = buildImage({ layers: [{ "etc/app": name }, { "bin/app": `binary of ${name}` }] });
  return { image, file: await writeDockerArchive(path.join(tmp, `${name}.tar`), image) };
}

/** What the registry serves for a tag: its digest, or null when it has no such tag. */
async function served(ref: string): Promise<string | null> {
  return createRegistryClient({ env: {} })
    .digest(ref)
    .catch((error: { status?: number }) => {
      if (error.status === 404) return null;
      throw error;
    });
}

describe("skopeo push retries", () => {
  it("[fault:push-blob-5xx] a 503 on a blob upload is retried with backoff, and the push completes", async () => {
    const { file } = await archive("blob-503");
    const ref = `${registry.host}/faults/blob503:1`;
    failFirst("faults/blob503", isBlobWrite, 1, {
      status: 503,
      body: registryError("UNAVAILABLE", "storage busy"),
    });
    const result = await pushImage(`docker-archive:${file}`, ref, options());
    expect(result.pushed).toBe(true);
    expect(sleeps).toEqual([100]);
    expect(await served(ref)).toBe(result.digest);
    expect(registry.requests().filter((r) => r.status === 503)).toHaveLength(1);
  });

  it("[fault:push-manifest-5xx] a 500 on the manifest PUT is retried, and the tag then serves the pushed digest", async () => {
    const { file, image } = await archive("manifest-500");
    const ref = `${registry.host}/faults/manifest500:1`;
    failFirst("faults/manifest500", isManifestPut, 2, { status: 500 });
    const result = await pushImage(`docker-archive:${file}`, ref, options());
    expect(result.pushed).toBe(true);
    expect(sleeps).toEqual([100, 200]);
    expect(await served(ref)).toBe(result.digest);
    const manifest = await createRegistryClient({ env: {} }).manifest(ref);
    expect(JSON.parse(Buffer.from(manifest.body).toString()).config.digest).toBe(image.config.digest);
  });

  it("[fault:push-429] a 429 on a blob upload is retried", async () => {
    const { file } = await archive("blob-429");
    const ref = `${registry.host}/faults/blob429:1`;
    failFirst("faults/blob429", isBlobWrite, 1, {
      status: 429,
      headers: { "retry-after": "1" },
      body: registryError("TOOMANYREQUESTS", "slow down"),
    });
    const result = await pushImage(`docker-archive:${file}`, ref, options());
    expect(result.pushed).toBe(true);
    // skopeo does not pass the registry's headers on, so its retries back off by the policy alone.
    expect(sleeps).toEqual([100]);
    expect(await served(ref)).toBe(result.digest);
  });

  it("[fault:push-reset] a connection reset during a blob upload is retried", async () => {
    const { file } = await archive("blob-reset");
    const ref = `${registry.host}/faults/blobreset:1`;
    failFirst("faults/blobreset", isBlobWrite, 1, { reset: true });
    const result = await pushImage(`docker-archive:${file}`, ref, options());
    expect(result.pushed).toBe(true);
    expect(sleeps).toEqual([100]);
    expect(registry.requests().filter((r) => r.status === 0)).toHaveLength(1);
    expect(await served(ref)).toBe(result.digest);
  });

  it("[fault:push-5xx-lasting] a lasting 503 fails the push after the bounded attempts, and the tag is not written", async () => {
    const { file } = await archive("lasting-503");
    const ref = `${registry.host}/faults/lasting503:1`;
    failFirst("faults/lasting503", isManifestPut, 100, { status: 503 });
    registry.clearRequests();
    await expect(pushImage(`docker-archive:${file}`, ref, options())).rejects.toThrow(
      new RegExp(
        `^${ref.replace(/[.:/]/g, "\\$&")}: skopeo copy failed: .*503 Service Unavailable.*, after 4 attempts$`,
      ),
    );
    expect(sleeps).toEqual([100, 200, 400]);
    expect(registry.requests().filter(isManifestPut)).toHaveLength(4);
    expect(await served(ref)).toBeNull();
  });

  it("[fault:push-denied] a refusal (403) is not retried", async () => {
    const { file } = await archive("denied");
    const ref = `${registry.host}/faults/denied:1`;
    failFirst("faults/denied", isManifestPut, 100, {
      status: 403,
      body: registryError("DENIED", "tag is immutable"),
    });
    registry.clearRequests();
    await expect(pushImage(`docker-archive:${file}`, ref, options())).rejects.toThrow(
      /skopeo copy failed: .*(denied|403)/i,
    );
    expect(sleeps).toEqual([]);
    expect(await served(ref)).toBeNull();
  });
});

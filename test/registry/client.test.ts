import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/index.js";
import { buildImage, buildMultiArch, MEDIA, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const client = () => createRegistryClient({ env: {} });
const single = buildImage({ layers: [{ "etc/app": "one" }, { "bin/app": "v1" }] });
const multi = buildMultiArch("multi");
// The same layers and config as `single`, under Docker media types: another manifest digest.
const singleDocker = buildImage({ layers: [{ "etc/app": "one" }, { "bin/app": "v1" }], format: "docker" });
const other = buildImage({ layers: [{ "etc/app": "two" }] });

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/single", "1.0", single);
  await pushTestImage(registry.directHost, "acme/single", "docker", singleDocker);
  await pushTestImage(registry.directHost, "acme/single", "other", other);
  await pushTestImage(registry.directHost, "acme/multi", "1.0", multi);
});
afterAll(() => registry?.stop());

const writes = () => registry.requests().filter((r) => r.method !== "GET" && r.method !== "HEAD");

describe("digest", () => {
  it("reads a single image's digest with one HEAD", async () => {
    registry.clearRequests();
    expect(await client().digest(`${registry.host}/acme/single:1.0`)).toBe(single.manifest.digest);
    expect(registry.requests()).toEqual([
      { method: "HEAD", path: "/v2/acme/single/manifests/1.0", status: 200 },
    ]);
  });

  it("reads a two-platform index's own digest (not a child's) with one HEAD, and checks each platform is there", async () => {
    registry.clearRequests();
    const digest = await client().digest(`${registry.host}/acme/multi:1.0`);
    expect(digest).toBe(multi.manifest.digest);
    expect(multi.images.map((i) => i.manifest.digest)).not.toContain(digest);
    // The HEAD's Content-Type says "index": its bytes (one GET) list the platforms, one HEAD each
    // (sent together, so they arrive in any order).
    const sent = registry.requests().map((r) => `${r.method} ${r.path}`);
    expect(sent.slice(0, 2)).toEqual([
      "HEAD /v2/acme/multi/manifests/1.0",
      `GET /v2/acme/multi/manifests/${multi.manifest.digest}`,
    ]);
    expect(sent.slice(2).sort()).toEqual(
      multi.images.map((i) => `HEAD /v2/acme/multi/manifests/${i.manifest.digest}`).sort(),
    );
  });

  it("accepts a digest reference and a docker:// prefix", async () => {
    const c = client();
    expect(await c.digest(`docker://${registry.host}/acme/multi@${multi.manifest.digest}`)).toBe(
      multi.manifest.digest,
    );
    expect(await c.digest(`${registry.host}/acme/single:docker`)).toBe(singleDocker.manifest.digest);
  });

  it("falls back to GET + sha256 when the registry sends no Docker-Content-Digest", async () => {
    registry.clearRequests();
    registry.intercept({
      responseHeaders: (_req, _status, headers) => void delete headers["docker-content-digest"],
    });
    try {
      expect(await client().digest(`${registry.host}/acme/multi:1.0`)).toBe(multi.manifest.digest);
    } finally {
      registry.intercept(null);
    }
    // The platforms' HEADs need no digest: a 200 for a digest address says it is there.
    expect(registry.requests().map((r) => r.method)).toEqual(["HEAD", "GET", "HEAD", "HEAD"]);
  });

  it("says which tag is missing, with the registry's own message", async () => {
    const error = await client()
      .digest(`${registry.host}/acme/single:nope`)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "RegistryError", status: 404, code: "MANIFEST_UNKNOWN" });
    expect((error as Error).message).toBe(
      `${registry.host}/acme/single:nope: tag "nope" not found in ${registry.host}/acme/single ` +
        "(GET manifests/nope → HTTP 404: manifest unknown (MANIFEST_UNKNOWN))",
    );
  });

  it("rejects an invalid reference without a request", async () => {
    registry.clearRequests();
    await expect(client().digest("Not A Ref")).rejects.toThrow("Not A Ref: not a valid image reference");
    expect(registry.requests()).toEqual([]);
  });
});

describe("manifest", () => {
  it("returns the served bytes and media type, verified against the digest", async () => {
    const m = await client().manifest(`${registry.host}/acme/multi:1.0`);
    expect(m.digest).toBe(multi.manifest.digest);
    expect(m.mediaType).toBe(MEDIA.ociIndex);
    expect(Buffer.from(m.body).equals(Buffer.from(multi.manifest.bytes))).toBe(true);
  });
});

describe("retag", () => {
  it("adds a tag to a multi-arch index with GET + PUT of the identical bytes and no blob upload", async () => {
    registry.clearRequests();
    const results = await client().retag(`${registry.host}/acme/multi:1.0`, ["abc123"]);
    expect(results).toEqual([{ tag: "abc123", status: "created", digest: multi.manifest.digest }]);
    expect(registry.requests()).toEqual([
      { method: "HEAD", path: "/v2/acme/multi/manifests/abc123", status: 404 },
      { method: "GET", path: "/v2/acme/multi/manifests/1.0", status: 200 },
      { method: "PUT", path: "/v2/acme/multi/manifests/abc123", status: 201 },
    ]);
    expect(registry.requests().some((r) => r.path.includes("/blobs/"))).toBe(false);
    // The new tag serves the same index with the same media type, children intact.
    const served = await client().manifest(`${registry.host}/acme/multi:abc123`);
    expect(served).toMatchObject({ digest: multi.manifest.digest, mediaType: MEDIA.ociIndex });
    const child = multi.images[1]!.manifest.digest;
    expect(await client().digest(`${registry.host}/acme/multi@${child}`)).toBe(child);
  });

  it("leaves a tag alone that already points at the digest", async () => {
    registry.clearRequests();
    const results = await client().retag(`${registry.host}/acme/multi@${multi.manifest.digest}`, [
      "abc123",
      "1.0",
    ]);
    expect(results).toEqual([
      { tag: "abc123", status: "exists", digest: multi.manifest.digest },
      { tag: "1.0", status: "exists", digest: multi.manifest.digest },
    ]);
    expect(registry.requests().map((r) => r.method)).toEqual(["HEAD", "HEAD"]);
  });

  it("moves a tag that points elsewhere, keeping Docker media types", async () => {
    await pushTestImage(registry.directHost, "acme/single", "moving", other);
    const results = await client().retag(`${registry.host}/acme/single:docker`, ["moving"]);
    expect(results).toEqual([{ tag: "moving", status: "created", digest: singleDocker.manifest.digest }]);
    const served = await client().manifest(`${registry.host}/acme/single:moving`);
    expect(served.mediaType).toBe(MEDIA.dockerManifest);
    expect(served.digest).toBe(singleDocker.manifest.digest);
  });

  it("with checkExisting: false makes exactly one GET and one PUT per tag", async () => {
    registry.clearRequests();
    const results = await client().retag(`${registry.host}/acme/single:1.0`, ["t1", "t2"], {
      checkExisting: false,
    });
    expect(results.map((r) => r.status)).toEqual(["created", "created"]);
    expect(registry.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v2/acme/single/manifests/1.0",
      "PUT /v2/acme/single/manifests/t1",
      "PUT /v2/acme/single/manifests/t2",
    ]);
    expect(writes().every((r) => r.method === "PUT" && r.path.includes("/manifests/"))).toBe(true);
  });

  it("after a manifest lookup, retags by digest with HEAD + PUT only (manifests are cached by digest)", async () => {
    const c = client();
    registry.clearRequests();
    const looked = await c.manifest(`${registry.host}/acme/single:1.0`);
    expect(await c.retag(`${registry.host}/acme/single@${looked.digest}`, ["cached"])).toEqual([
      { tag: "cached", status: "created", digest: single.manifest.digest },
    ]);
    expect(registry.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v2/acme/single/manifests/1.0",
      "HEAD /v2/acme/single/manifests/cached",
      "PUT /v2/acme/single/manifests/cached",
    ]);
  });

  it("rejects an invalid tag before any request", async () => {
    registry.clearRequests();
    await expect(client().retag(`${registry.host}/acme/single:1.0`, ["ok", "-bad"])).rejects.toThrow(
      '"-bad" is not a valid tag',
    );
    expect(registry.requests()).toEqual([]);
  });
});

describe("sameImage", () => {
  it("is the same for identical digests", async () => {
    expect(
      await client().sameImage(`${registry.host}/acme/multi:1.0`, `${registry.host}/acme/multi:abc123`),
    ).toEqual({ same: true, reason: `same manifest ${multi.manifest.digest}` });
  });

  it("recognises re-encoded content by its config digest", async () => {
    const result = await client().sameImage(
      `${registry.host}/acme/single:1.0`,
      `${registry.host}/acme/single:docker`,
    );
    expect(result).toEqual({
      same: true,
      reason: `same config ${single.config.digest}, same content, manifest encoded differently`,
    });
  });

  it("is different when the config differs", async () => {
    const result = await client().sameImage(
      `${registry.host}/acme/single:1.0`,
      `${registry.host}/acme/single:other`,
    );
    expect(result).toEqual({
      same: false,
      reason: `config digest differs (${single.config.digest} vs ${other.config.digest})`,
    });
  });

  it("compares multi-arch images per platform", async () => {
    // The same two platform images under Docker list media types, and one with a changed arm64 image.
    const relisted = buildMultiArch("multi", "docker");
    const changed = buildMultiArch("multi");
    const arm = buildImage({
      platform: { os: "linux", architecture: "arm64" },
      layers: [{ "etc/name": "new" }],
    });
    const { buildIndex } = await import("../helpers/oci.js");
    const mixed = buildIndex([changed.images[0]!, arm]);
    await pushTestImage(registry.directHost, "acme/multi", "relisted", relisted);
    await pushTestImage(registry.directHost, "acme/multi", "mixed", mixed);
    const c = client();
    expect(
      await c.sameImage(`${registry.host}/acme/multi:1.0`, `${registry.host}/acme/multi:relisted`),
    ).toEqual({
      same: true,
      reason:
        "same config per platform (linux/amd64, linux/arm64), same content, manifest encoded differently",
    });
    expect(await c.sameImage(`${registry.host}/acme/multi:1.0`, `${registry.host}/acme/multi:mixed`)).toEqual(
      {
        same: false,
        reason: "config digest differs for linux/arm64",
      },
    );
    expect(await c.sameImage(`${registry.host}/acme/multi:1.0`, `${registry.host}/acme/single:1.0`)).toEqual({
      same: false,
      reason: `${registry.host}/acme/multi:1.0 is a multi-platform index, the other a single image`,
    });
  });
});

// Connections to a registry are kept open and reused, HEADs included (undici, behind Node's fetch, closed
// the connection after a HEAD unless told otherwise: every digest lookup paid a new connect). The
// transport's own behaviours against loopback servers are in transport.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/index.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const image = buildImage({ layers: [{ "app/main.txt": "one" }] });
const TAGS = Array.from({ length: 40 }, (_, i) => `t${i}`);

beforeAll(async () => {
  registry = await startRegistry();
  for (const tag of TAGS) await pushTestImage(registry.directHost, "acme/app", tag, image);
});
afterAll(() => registry?.stop());

describe("connections", () => {
  it("40 digest lookups (HEADs, 8 at a time) reuse at most 8 connections", async () => {
    const client = createRegistryClient({ env: {} });
    registry.clearRequests();
    const digests = await Promise.all(TAGS.map((tag) => client.digest(`${registry.host}/acme/app:${tag}`)));
    expect(new Set(digests)).toEqual(new Set([image.manifest.digest]));
    expect(registry.requests().filter((r) => r.method === "HEAD")).toHaveLength(TAGS.length);
    expect(registry.connections()).toBeLessThanOrEqual(8);
  });

  it("GETs and HEADs mixed, 8 at a time: every body is read, so 8 connections serve them all", async () => {
    // An unread body would hold its connection: with the pool at 8, the lookups would stall.
    const client = createRegistryClient({ env: {} });
    registry.clearRequests();
    await Promise.all(
      TAGS.map((tag, i) =>
        i % 2 === 0
          ? client.manifest(`${registry.host}/acme/app:${tag}`)
          : client.digest(`${registry.host}/acme/app:${tag}`),
      ),
    );
    const methods = registry.requests().map((r) => r.method);
    expect(methods.filter((m) => m === "GET")).toHaveLength(TAGS.length / 2);
    expect(methods.filter((m) => m === "HEAD")).toHaveLength(TAGS.length / 2);
    expect(registry.connections()).toBeLessThanOrEqual(8);
  });
});

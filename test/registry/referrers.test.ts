// Attestations pushed beside an image (`push-to-registry`): found in a real docker-registry through the
// OCI referrers fallback tag `sha256-<hex>`, each bundle read as a verified blob.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/client.js";
import { registryBundles } from "../../src/registry/referrers.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { pushReferrers } from "../helpers/referrers.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const app = buildImage({ layers: [{ "etc/app": "referrers" }] });
const bare = buildImage({ layers: [{ "etc/app": "no attestation" }] });

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/api", "1.0", app);
  await pushTestImage(registry.directHost, "acme/api", "2.0", bare);
  await pushReferrers(registry.directHost, "acme/api", app.manifest.digest, [{ n: 1 }, { n: 2 }]);
});
afterAll(() => registry?.stop());

describe("registryBundles", () => {
  it("reads every bundle the fallback tag lists, and none when there is no such tag", async () => {
    const client = createRegistryClient();
    expect(await registryBundles(client, `${registry.host}/acme/api`, app.manifest.digest)).toEqual([
      { n: 1 },
      { n: 2 },
    ]);
    expect(await registryBundles(client, `${registry.host}/acme/api`, bare.manifest.digest)).toEqual([]);
  });
});

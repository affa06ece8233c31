// Attestations pushed beside an image (`push-to-registry`), found as OCI distribution spec 1.1 says:
// through the referrers API when the registry has it, else through the fallback tag `sha256-<hex>`.
// Debian's docker-registry 2.8 has no referrers API (it answers 404): the fallback is read from it for
// real. The API path is played by the recording proxy in front of it, answering only
// `GET /v2/<name>/referrers/<digest>`; the artifact manifests and bundles are still the real registry's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/client.js";
import { BUNDLE_ARTIFACT_TYPE, registryBundles } from "../../src/registry/referrers.js";
import { type Built, buildImage, pushTestImage } from "../helpers/oci.js";
import { pushReferrers, referrerArtifacts } from "../helpers/referrers.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const app = buildImage({ layers: [{ "etc/app": "referrers" }] });
const bare = buildImage({ layers: [{ "etc/app": "no attestation" }] });
const api = buildImage({ layers: [{ "etc/app": "referrers API" }] });
const other = buildImage({ layers: [{ "etc/app": "another image" }] });

/** The artifact manifests of a listing (pushed to the registry under a throwaway tag), as descriptors. */
async function pushListing(tag: string, built: Built) {
  await pushTestImage(registry.directHost, "acme/api", tag, built);
  const index = JSON.parse(new TextDecoder().decode(built.manifest.bytes)) as {
    manifests: Array<{ digest: string; artifactType: string }>;
  };
  return index.manifests;
}

beforeAll(async () => {
  registry = await startRegistry();
  for (const [tag, image] of [
    ["1.0", app],
    ["2.0", bare],
    ["3.0", api],
    ["4.0", other],
  ] as const)
    await pushTestImage(registry.directHost, "acme/api", tag, image);
  await pushReferrers(registry.directHost, "acme/api", app.manifest.digest, [{ n: 1 }, { n: 2 }]);
});
afterAll(() => registry?.stop());

const paths = () => registry.requests().map((r) => `${r.method} ${r.path} ${r.status}`);

describe("registryBundles without a referrers API (docker-registry 2.8)", () => {
  it("[fault:referrers-api-missing] reads the fallback tag after the API's 404, and asks that host's API no more", async () => {
    const client = createRegistryClient();
    const repo = `${registry.host}/acme/api`;
    registry.clearRequests();
    expect(await registryBundles(client, repo, app.manifest.digest)).toEqual([{ n: 1 }, { n: 2 }]);
    const asked = paths();
    expect(asked[0]).toBe(
      `GET /v2/acme/api/referrers/${app.manifest.digest}?artifactType=${encodeURIComponent(BUNDLE_ARTIFACT_TYPE)} 404`,
    );
    expect(asked[1]).toBe(`GET /v2/acme/api/manifests/${app.manifest.digest.replace(":", "-")} 200`);
    // Then per bundle its artifact manifest and its blob, by digest.
    expect(asked.slice(2).filter((p) => p.includes("/manifests/sha256:"))).toHaveLength(2);
    expect(asked.slice(2).filter((p) => p.includes("/blobs/sha256:"))).toHaveLength(2);

    registry.clearRequests();
    expect(await registryBundles(client, repo, bare.manifest.digest)).toEqual([]);
    expect(paths()).toEqual([`GET /v2/acme/api/manifests/${bare.manifest.digest.replace(":", "-")} 404`]);
  });

  it("[fault:referrers-api-missing] lookups that start together on a new host pay the API's 404 once", async () => {
    const client = createRegistryClient();
    const repo = `${registry.host}/acme/api`;
    registry.clearRequests();
    const found = await Promise.all(
      [app, bare, api, other, app].map((i) => registryBundles(client, repo, i.manifest.digest)),
    );
    expect(found.map((b) => b.length)).toEqual([2, 0, 0, 0, 2]);
    expect(paths().filter((p) => p.includes("/referrers/"))).toHaveLength(1);
    expect(paths().filter((p) => p.includes("/manifests/sha256-"))).toHaveLength(5);
  });

  it("[fault:referrers-api-missing] asks a host's referrers API again an hour after its 404 (registries get upgraded)", async () => {
    let now = 1_000_000;
    const client = createRegistryClient({ now: () => now });
    const repo = `${registry.host}/acme/api`;
    const asks = () => paths().filter((p) => p.includes("/referrers/")).length;
    registry.clearRequests();
    await registryBundles(client, repo, bare.manifest.digest);
    now += 3_599_000;
    await registryBundles(client, repo, bare.manifest.digest);
    expect(asks()).toBe(1);
    now += 2_000;
    await registryBundles(client, repo, bare.manifest.digest);
    expect(asks()).toBe(2);
  });
});

describe("registryBundles through the referrers API", () => {
  it("[fault:referrers-bad-answer] follows every page by Link, filters by artifactType itself, skips artifacts about another image, never reads the fallback tag", async () => {
    const subject = api.manifest.digest;
    const mine = await pushListing("listing-mine", referrerArtifacts(subject, [{ page: 1 }, { page: 2 }]));
    const foreign = await pushListing("listing-other", referrerArtifacts(other.manifest.digest, [{ n: 9 }]));
    const sbom = { digest: `sha256:${"0".repeat(64)}`, artifactType: "application/spdx+json" };
    const base = `/v2/acme/api/referrers/${subject}`;
    const pages: Record<string, { manifests: unknown[]; link?: string }> = {
      // The registry ignores the filter (no OCI-Filters-Applied): the SBOM comes back too.
      [`${base}?artifactType=${encodeURIComponent(BUNDLE_ARTIFACT_TYPE)}`]: {
        manifests: [mine[0], sbom],
        link: `<${base}?artifactType=${encodeURIComponent(BUNDLE_ARTIFACT_TYPE)}&last=1>; rel="next"`,
      },
      [`${base}?artifactType=${encodeURIComponent(BUNDLE_ARTIFACT_TYPE)}&last=1`]: {
        manifests: [foreign[0], mine[1]],
        // Credentials for this repository go with every page: a page on another host is not followed.
        link: `<http://attacker.example${base}?last=2>; rel="next"`,
      },
    };
    registry.intercept({
      request: (req) => {
        if (!req.path.includes("/referrers/")) return undefined;
        const page = pages[req.path];
        if (!page) return { status: 500, body: `unexpected ${req.path}` };
        return {
          status: 200,
          headers: {
            "content-type": "application/vnd.oci.image.index.v1+json",
            ...(page.link ? { link: page.link } : {}),
          },
          body: JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.index.v1+json",
            manifests: page.manifests,
          }),
        };
      },
    });
    try {
      registry.clearRequests();
      const client = createRegistryClient();
      expect(await registryBundles(client, `${registry.host}/acme/api`, subject)).toEqual([
        { page: 1 },
        { page: 2 },
      ]);
      const asked = paths();
      expect(asked.filter((p) => p.includes("/referrers/"))).toHaveLength(2);
      expect(asked.some((p) => p.includes("sha256-"))).toBe(false);
      // The SBOM is never fetched; the foreign artifact's manifest is read (that is how it is known), its bundle is not.
      expect(asked.some((p) => p.includes(sbom.digest))).toBe(false);
      expect(asked.filter((p) => p.includes("/blobs/"))).toHaveLength(2);
    } finally {
      registry.intercept(null);
    }
  });

  it("[fault:referrers-bad-answer] an answer that is not an image index is an error, not 'no attestation'", async () => {
    registry.intercept({
      request: (req) =>
        req.path.includes("/referrers/") ? { status: 200, body: "<html>maintenance</html>" } : undefined,
    });
    try {
      const client = createRegistryClient();
      await expect(registryBundles(client, `${registry.host}/acme/api`, api.manifest.digest)).rejects.toThrow(
        `the referrers of ${api.manifest.digest} are not an OCI image index`,
      );
    } finally {
      registry.intercept(null);
    }
  });
});

// Attestations pushed beside an image (`push-to-registry`): found in a real docker-registry through the
// OCI referrers fallback tag `sha256-<hex>`, each bundle read as a verified blob.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/client.js";
import { registryBundles } from "../../src/registry/referrers.js";
import { type BuiltImage, type BuiltIndex, buildImage, pushTestImage, sha256 } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

const BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const blob = (b: Uint8Array) => ({ digest: sha256(b), bytes: b });

/** The fallback-tag index of `subject`: one artifact manifest per bundle, the bundle its only layer. */
function referrers(subject: string, bundles: unknown[]): BuiltIndex {
  const config = blob(new TextEncoder().encode("{}"));
  const images: BuiltImage[] = bundles.map((b) => {
    const layer = blob(bytes(b));
    const manifest = blob(
      bytes({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: BUNDLE,
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config.digest, size: 2 },
        layers: [{ mediaType: BUNDLE, digest: layer.digest, size: layer.bytes.length }],
        subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 },
      }),
    );
    return {
      kind: "manifest",
      mediaType: OCI_MANIFEST,
      manifest,
      config,
      layers: [{ ...layer, diffId: "", tar: new Uint8Array() }],
      platform: { os: "linux", architecture: "amd64" },
    } as BuiltImage;
  });
  const index = blob(
    bytes({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        ...images.map((i) => ({
          mediaType: OCI_MANIFEST,
          digest: i.manifest.digest,
          size: i.manifest.bytes.length,
          artifactType: BUNDLE,
        })),
      ],
    }),
  );
  return { kind: "index", mediaType: "application/vnd.oci.image.index.v1+json", manifest: index, images };
}

let registry: TestRegistry;
const app = buildImage({ layers: [{ "etc/app": "referrers" }] });
const bare = buildImage({ layers: [{ "etc/app": "no attestation" }] });

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/api", "1.0", app);
  await pushTestImage(registry.directHost, "acme/api", "2.0", bare);
  const tag = app.manifest.digest.replace(":", "-");
  await pushTestImage(
    registry.directHost,
    "acme/api",
    tag,
    referrers(app.manifest.digest, [{ n: 1 }, { n: 2 }]),
  );
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

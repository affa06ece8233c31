// What `actions/attest-build-provenance` with `push-to-registry: true` leaves in a registry, for tests and
// benchmarks: per bundle, an OCI artifact manifest (artifactType the Sigstore bundle, the bundle its only
// layer, `subject` the attested image), listed by an index under the referrers fallback tag
// `sha256-<hex>` (OCI distribution spec 1.1, for registries without the referrers API).
import { type BuiltImage, type BuiltIndex, pushTestImage, sha256 } from "./oci.js";

export const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const blob = (b: Uint8Array) => ({ digest: sha256(b), bytes: b });

/** One artifact manifest per bundle, each naming `subject`; and the index of them, as a referrers list. */
export function referrerArtifacts(subject: string, bundles: unknown[]): BuiltIndex {
  const config = blob(new TextEncoder().encode("{}"));
  const images: BuiltImage[] = bundles.map((b) => {
    const layer = blob(bytes(b));
    const manifest = blob(
      bytes({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: BUNDLE_TYPE,
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: config.digest, size: 2 },
        layers: [{ mediaType: BUNDLE_TYPE, digest: layer.digest, size: layer.bytes.length }],
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
      mediaType: OCI_INDEX,
      manifests: images.map((i) => ({
        mediaType: OCI_MANIFEST,
        digest: i.manifest.digest,
        size: i.manifest.bytes.length,
        artifactType: BUNDLE_TYPE,
      })),
    }),
  );
  return { kind: "index", mediaType: OCI_INDEX, manifest: index, images };
}

/** Pushes `bundles` beside `subject` in `repository` under the fallback tag, as push-to-registry does. */
export async function pushReferrers(
  host: string,
  repository: string,
  subject: string,
  bundles: unknown[],
): Promise<void> {
  await pushTestImage(host, repository, subject.replace(":", "-"), referrerArtifacts(subject, bundles));
}

// Sigstore bundles stored beside an image in the registry (`actions/attest-build-provenance` with
// `push-to-registry: true`): found through the OCI referrers fallback tag `sha256-<hex>`, an index whose
// entries are artifact manifests with the bundle as their one layer. Every byte read is checked against
// its digest by the client. The referrers API itself (OCI 1.1) is not asked yet: registries that only
// offer it are not searched.
import { z } from "zod";
import type { CountingRegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";

const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle";
const MAX_BUNDLES = 20;
const MAX_BUNDLE_BYTES = 1 << 20;
const indexSchema = z.object({
  manifests: z.array(z.object({ digest: z.string(), artifactType: z.string().optional() })),
});
const artifactSchema = z.object({ layers: z.array(z.object({ digest: z.string(), mediaType: z.string() })) });

const parse = <T>(schema: z.ZodType<T>, bytes: Uint8Array): T | undefined => {
  try {
    const result = schema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
};

async function readText(client: Pick<CountingRegistryClient, "blob">, ref: string, digest: string) {
  const { stream } = await client.blob(ref, digest, { timeoutMs: 30_000 });
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_BUNDLE_BYTES)
      throw new RegistryError(ref, `attestation blob ${digest} is larger than 1 MiB`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The bundles attached to `digest` in `repository` (none: an empty list). */
export async function registryBundles(
  client: Pick<CountingRegistryClient, "manifest" | "blob">,
  repository: string,
  digest: string,
): Promise<unknown[]> {
  let index;
  try {
    index = await client.manifest(`${repository}:${digest.replace(":", "-")}`);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return [];
    throw error;
  }
  const entries = parse(indexSchema, index.body)?.manifests ?? [];
  const bundles: unknown[] = [];
  for (const entry of entries.filter((e) => e.artifactType?.startsWith(BUNDLE_TYPE)).slice(0, MAX_BUNDLES)) {
    const artifact = await client.manifest(`${repository}@${entry.digest}`);
    const layer = parse(artifactSchema, artifact.body)?.layers.find((l) =>
      l.mediaType.startsWith(BUNDLE_TYPE),
    );
    if (layer === undefined) continue;
    try {
      bundles.push(JSON.parse(await readText(client, repository, layer.digest)));
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      // Not JSON: not a bundle; the others still count.
    }
  }
  return bundles;
}

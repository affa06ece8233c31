// Sigstore bundles stored beside an image in the registry (`actions/attest-build-provenance` with
// `push-to-registry: true`), found as OCI distribution spec 1.1 says: the referrers API
// (`GET /v2/<name>/referrers/<digest>?artifactType=…`, an image index, paged by `Link: rel="next"`), or,
// where the registry has no such API (it answers 404, as Debian's docker-registry 2.8 does), the fallback
// tag `sha256-<hex>`, an index in the same shape. Each entry is an artifact manifest with the bundle as its
// one layer; manifests and blobs are fetched by digest and checked against it by the client.
import { z } from "zod";
import type { CountingRegistryClient } from "./client.js";
import { RegistryError } from "./errors.js";
import type { Session } from "./session.js";
import { resolveTarget, validDigest } from "./target.js";

/** What `actions/attest-build-provenance` (through @sigstore/oci) gives its artifacts: the bundle's media type. */
export const BUNDLE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const MAX_BUNDLES = 20;
const MAX_BUNDLE_BYTES = 1 << 20;
const MAX_PAGES = 10;
/** A host that answered 404 (no referrers API) is asked again after this long: registries get upgraded. */
const NO_API_MEMORY_MS = 3_600_000;

const indexSchema = z.object({
  manifests: z.array(z.object({ digest: z.string(), artifactType: z.string().optional() })),
});
const artifactSchema = z.object({
  layers: z.array(z.object({ digest: z.string(), mediaType: z.string() })),
  subject: z.object({ digest: z.string() }).optional(),
});
export type Referrer = z.infer<typeof indexSchema>["manifests"][number];

const parse = <T>(schema: z.ZodType<T>, bytes: Uint8Array): T | undefined => {
  try {
    const result = schema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The next page's path below /v2/<repository>/, from a `Link` header; only a page of the same listing on
 * the same host is followed (the credentials for this repository go with the request).
 */
function nextPage(link: string | null, host: string, repository: string, digest: string) {
  const next = link?.split(",").find((part) => /rel="?next"?/.test(part));
  const raw = next?.match(/<([^>]+)>/)?.[1];
  if (raw === undefined) return undefined;
  const url = new URL(raw, `http://${host}/v2/${repository}/referrers/${digest}`);
  const base = `/v2/${repository}/`;
  if (url.host !== host || !url.pathname.startsWith(`${base}referrers/${digest}`)) return undefined;
  return url.pathname.slice(base.length) + url.search;
}

/** The referrers API of a client's registries, remembering the hosts that have none. */
export class Referrers {
  private readonly noApi = new Map<string, number>();
  /**
   * The first lookup on a host not known yet, which learns whether it has the API: lookups that start
   * meanwhile (a plan asks for 8 at a time) wait for it instead of each paying the 404.
   */
  private readonly probing = new Map<string, Promise<unknown>>();
  private readonly probed = new Set<string>();

  constructor(
    private readonly session: Session,
    private readonly now: () => number = Date.now,
  ) {}

  /** The artifacts naming `digest` as their subject, of `artifactType`; null when the registry has no referrers API. */
  async list(text: string, digest: string, artifactType: string): Promise<Referrer[] | null> {
    const target = resolveTarget(text);
    if (!validDigest(digest)) throw new RegistryError(text, `"${digest}" is not a valid digest`);
    const host = target.host;
    // No await unless a probe is on its way: the first caller must claim the probe before anyone yields.
    const probe = this.probing.get(host);
    if (probe) await probe.catch(() => undefined);
    const since = this.noApi.get(host);
    if (since !== undefined && this.now() - since < NO_API_MEMORY_MS) return null;
    if (this.probed.has(host)) return this.fetch(text, digest, artifactType);
    const first = this.fetch(text, digest, artifactType);
    this.probing.set(host, first);
    try {
      return await first;
    } finally {
      this.probing.delete(host);
      this.probed.add(host);
    }
  }

  private async fetch(text: string, digest: string, artifactType: string): Promise<Referrer[] | null> {
    const target = resolveTarget(text);
    const found: Referrer[] = [];
    let path: string | undefined = `referrers/${digest}?artifactType=${encodeURIComponent(artifactType)}`;
    for (let page = 0; path !== undefined && page < MAX_PAGES; page++) {
      const res = await this.session.send(target, {
        method: "GET",
        path,
        actions: this.session.readActions,
        headers: { accept: OCI_INDEX },
      });
      if (res.status === 404 && page === 0) {
        this.noApi.set(target.host, this.now());
        return null;
      }
      if (res.status !== 200) throw this.session.fail(target, { method: "GET", path }, res);
      const index = parse(indexSchema, res.body);
      if (index === undefined)
        throw new RegistryError(text, `the referrers of ${digest} are not an OCI image index`);
      // A registry may ignore the filter (it then leaves out OCI-Filters-Applied): filtered here either way.
      found.push(...index.manifests.filter((m) => m.artifactType === artifactType));
      path = nextPage(res.headers.get("link"), target.host, target.repository, digest);
    }
    return found;
  }
}

/** A registry that can read manifests and blobs, and ask the referrers API when it has it. */
export type BundleRegistry = Pick<CountingRegistryClient, "manifest" | "blob"> &
  Partial<Pick<CountingRegistryClient, "referrers">>;

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

/** The fallback tag's index of `digest`'s referrers (none: an empty list). */
async function fallbackTag(client: BundleRegistry, repository: string, digest: string) {
  let index;
  try {
    index = await client.manifest(`${repository}:${digest.replace(":", "-")}`);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return [];
    throw error;
  }
  return parse(indexSchema, index.body)?.manifests ?? [];
}

/** The bundles attached to `digest` in `repository` (none: an empty list). */
export async function registryBundles(
  client: BundleRegistry,
  repository: string,
  digest: string,
): Promise<unknown[]> {
  const listed =
    (await client.referrers?.(repository, digest, BUNDLE_ARTIFACT_TYPE)) ??
    (await fallbackTag(client, repository, digest));
  const bundles: unknown[] = [];
  for (const entry of listed.filter((e) => e.artifactType?.startsWith(BUNDLE_TYPE)).slice(0, MAX_BUNDLES)) {
    const artifact = parse(artifactSchema, (await client.manifest(`${repository}@${entry.digest}`)).body);
    // An artifact about another image is not this one's, whatever list named it.
    if (artifact?.subject !== undefined && artifact.subject.digest !== digest) continue;
    const layer = artifact?.layers.find((l) => l.mediaType.startsWith(BUNDLE_TYPE));
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

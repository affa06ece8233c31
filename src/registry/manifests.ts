// Manifests by HTTP: GET with its bytes verified against the digest asked for and the digest announced,
// parsed with the wire schemas and kept by digest; HEAD for the cheap digest of a tag.
import type { Actions } from "./auth.js";
import { RegistryError } from "./errors.js";
import type { RegistryResponse } from "./http.js";
import { MEDIA_TYPES, type ParsedManifest, parseJson, parseManifest } from "../image/manifest.js";
import type { Session } from "./session.js";
import { type Target, digestOf, isDigest, validDigest } from "./target.js";
import { z } from "zod";

// All four, or registries answer with a child manifest, a 404, or a schema1 conversion.
export const ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(", ");

export interface Manifest {
  digest: string;
  mediaType: string;
  body: Uint8Array;
}

export interface Fetched {
  manifest: Manifest;
  /** Content-Type exactly as served, for a retag PUT. */
  contentType: string;
  parsed: ParsedManifest;
}

/** Manifests kept by digest per client (they are small; an index and its children are a few KiB). */
const MANIFEST_CACHE_SIZE = 1000;

/** The media type a manifest declares: a specific Content-Type, else its own `mediaType` field. */
function declaredMediaType(contentType: string | null, body: Uint8Array): string | undefined {
  const fromHeader = specificMediaType(contentType);
  if (fromHeader) return fromHeader;
  const own = parseJson(body, z.object({ mediaType: z.string() }));
  return own.ok ? own.value.mediaType : undefined;
}

export class Manifests {
  // Content-addressed: bytes fetched (and verified) by digest once never change.
  private readonly cache = new Map<string, Fetched>();
  /** Hosts that answered a HEAD with 405 or 501: asked by GET instead. */
  private readonly noHead = new Set<string>();

  constructor(private readonly session: Session) {}

  /** GET a manifest and check its bytes against the requested and the announced digest. */
  async get(
    target: Target,
    reference: string,
    actions: Actions = this.session.readActions,
    /** For a GET made only to learn the message of a failed HEAD: one attempt, the HEAD's retry story. */
    afterHead?: RegistryResponse,
  ): Promise<Fetched> {
    const cacheKey = `${target.host}/${target.repository}@`;
    const cached = isDigest(reference) ? this.cache.get(cacheKey + reference) : undefined;
    if (cached) return cached;
    const path = `manifests/${reference}`;
    const res = await this.session.send(target, {
      method: "GET",
      path,
      actions,
      headers: { accept: ACCEPT },
      ...(afterHead ? { maxAttempts: 1 } : {}),
    });
    if (res.status !== 200) {
      const gaveUp = afterHead?.gaveUp ?? res.gaveUp;
      const answer = gaveUp ? { ...res, gaveUp } : res;
      throw this.session.fail({ ...target, reference }, { method: "GET", path }, answer);
    }
    const digest = verifiedDigest(target, reference, res);
    const contentType = res.headers.get("content-type");
    const declared = declaredMediaType(contentType, res.body);
    const manifest: Manifest = {
      digest,
      mediaType: declared ?? contentType?.split(";")[0]!.trim() ?? "application/octet-stream",
      body: res.body,
    };
    let parsed: ParsedManifest;
    try {
      parsed = parseManifest(res.body, declared);
    } catch (error) {
      throw new RegistryError(target.text, `registry served a manifest that ${(error as Error).message}`);
    }
    const fetched = { manifest, contentType: contentType ?? manifest.mediaType, parsed };
    this.cache.set(cacheKey + digest, fetched);
    if (this.cache.size > MANIFEST_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return fetched;
  }

  /** The digest a HEAD announces; null when the registry says 404. */
  async head(
    target: Target,
    reference: string,
    actions: Actions = this.session.readActions,
  ): Promise<string | null> {
    return (await this.look(target, reference, actions))?.digest ?? null;
  }

  /**
   * What a HEAD announces: the digest and the media type (null when the registry sends none or a
   * generic one); null when the reference is absent. A registry that refuses HEAD (405, 501) is asked
   * by GET from then on, and that GET's 404 means absent too.
   */
  async look(
    target: Target,
    reference: string,
    actions: Actions = this.session.readActions,
  ): Promise<{ digest: string; mediaType: string | null } | null> {
    if (this.noHead.has(target.host)) return this.lookByGet(target, reference, actions);
    const path = `manifests/${reference}`;
    const res = await this.session.send(target, {
      method: "HEAD",
      path,
      actions,
      headers: { accept: ACCEPT },
    });
    if (res.status === 404) return null;
    if (res.status === 405 || res.status === 501) {
      this.noHead.add(target.host);
      return this.lookByGet(target, reference, actions);
    }
    if (res.status !== 200) {
      // HEAD answers have no body: one GET brings the registry's own message (or, if the fault has
      // passed meanwhile, the manifest itself, or a 404: absent).
      return this.lookByGet(target, reference, actions, res);
    }
    const digest = res.headers.get("docker-content-digest");
    if (!validDigest(digest)) return this.lookByGet(target, reference, actions);
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryError(
        target.text,
        `registry answered digest ${digest} for ${reference}: not trusted`,
      );
    }
    return { digest, mediaType: specificMediaType(res.headers.get("content-type")) };
  }

  /**
   * Whether the manifest with this digest is there: a HEAD's 200 says so (the address is the content,
   * nothing is pinned from the answer); 404 says not; anything else is asked by GET as in `look`.
   */
  async exists(
    target: Target,
    digest: string,
    actions: Actions = this.session.readActions,
  ): Promise<boolean> {
    if (!this.noHead.has(target.host)) {
      const path = `manifests/${digest}`;
      const res = await this.session.send(target, {
        method: "HEAD",
        path,
        actions,
        headers: { accept: ACCEPT },
      });
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      if (res.status !== 405 && res.status !== 501) {
        return (await this.lookByGet(target, digest, actions, res)) !== null;
      }
      this.noHead.add(target.host);
    }
    return (await this.lookByGet(target, digest, actions)) !== null;
  }

  private async lookByGet(
    target: Target,
    reference: string,
    actions: Actions,
    afterHead?: RegistryResponse,
  ): Promise<{ digest: string; mediaType: string } | null> {
    try {
      const { manifest } = await this.get(target, reference, actions, afterHead);
      return { digest: manifest.digest, mediaType: manifest.mediaType };
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return null;
      throw error;
    }
  }
}

/** A Content-Type that names a manifest type; null for none or a generic one. */
function specificMediaType(contentType: string | null): string | null {
  const type = contentType?.split(";")[0]!.trim() ?? "";
  return type && type !== "application/json" && type !== "application/octet-stream" ? type : null;
}

/** The bytes' digest, when it agrees with the digest asked for and the one announced; else an error. */
function verifiedDigest(target: Target, reference: string, res: RegistryResponse): string {
  const announced = res.headers.get("docker-content-digest");
  const expected = isDigest(reference) ? reference : validDigest(announced) ? announced : null;
  const algorithm = expected?.split(":")[0] ?? "sha256";
  const actual = digestOf(res.body, algorithm);
  if (expected && expected !== actual) {
    throw new RegistryError(
      target.text,
      `registry served a manifest whose bytes hash to ${actual}, not the ${expected} it ` +
        `${isDigest(reference) ? "was asked for" : "announced"}: not trusted`,
    );
  }
  if (announced && validDigest(announced) && announced !== actual && announced.startsWith(`${algorithm}:`)) {
    throw new RegistryError(
      target.text,
      `registry announced digest ${announced} but the bytes hash to ${actual}`,
    );
  }
  return actual;
}

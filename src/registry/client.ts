// OCI distribution client for the cheap, exact operations: digest of a tag (one HEAD), manifests
// verified against their bytes, zero-upload retags in the same repository, and "same image?" checks.
// Each operation lives in its own file; this one puts them behind one client with shared auth and cache.
import {
  type ImageIdentity,
  type SameImage,
  configDigests,
  isIndexMediaType,
  sameImage as decideSameImage,
} from "../image/manifest.js";
import { type BlobStream, blob } from "./blobs.js";
import { Children } from "./children.js";
import { type Manifest, Manifests } from "./manifests.js";
import { type Referrer, Referrers } from "./referrers.js";
import { type RetagOptions, type RetagResult, retag } from "./retag.js";
import { type SessionOptions, createSession } from "./session.js";
import { resolveTarget } from "./target.js";
import { RegistryError } from "./errors.js";
import { repositoryOf } from "../image/reference.js";

export { MEDIA_TYPES, type SameImage } from "../image/manifest.js";
export type { BlobStream } from "./blobs.js";
export type { Manifest } from "./manifests.js";
export { RetagError, type RetagOptions, type RetagResult } from "./retag.js";
export { type Target, digestOf, isValidTag, resolveTarget } from "./target.js";

export interface RegistryClient {
  /**
   * Manifest or index digest of a tag or digest reference (one HEAD). For an index, also that every
   * platform manifest it lists is there (one GET, one HEAD each): else a MissingChildError.
   */
  digest(ref: string): Promise<string>;
  /** Adds tags (same repository) to the manifest ref names, moving no blob. */
  retag(ref: string, tags: string[], options?: RetagOptions): Promise<RetagResult[]>;
  /** The manifest bytes as served, verified against the digest. */
  manifest(ref: string): Promise<Manifest>;
  /** The manifest digest and the config digest of each platform (child manifests fetched by digest). */
  identity(ref: string): Promise<ImageIdentity>;
  /**
   * The digest proven by bytes: one GET of what `ref` names, its sha256 checked against the digest the
   * registry announced and against `claimed` (a HEAD's answer). A mismatch is a RegistryError naming
   * the claim and the bytes' hash. With `configs`, also the config digest of each platform. An index
   * that lost a platform manifest is a MissingChildError.
   */
  prove(ref: string, claimed?: string, options?: { configs?: boolean }): Promise<ImageIdentity>;
  /** Same digest, or same config digest(s) per platform (content re-encoded). */
  sameImage(a: string, b: string): Promise<Pick<SameImage, "same" | "reason">>;
}

/** The client createRegistryClient returns: also counts what it sent (tests, benchmark, logs). */
export interface CountingRegistryClient extends RegistryClient {
  /** Requests sent so far: registry requests and token-endpoint requests. */
  stats(): { requests: number; tokenRequests: number };
  /** Streams a blob (config, layer) of the ref's repository; `timeoutMs` bounds the whole read (default 10 min). */
  blob(ref: string, digest: string, options?: { timeoutMs?: number }): Promise<BlobStream>;
  /**
   * The artifacts of `artifactType` whose subject is `digest` in the ref's repository, through the OCI 1.1
   * referrers API (every page); null when the registry has none (it answered 404), so the caller reads the
   * fallback tag instead. A host without the API is not asked again for an hour.
   */
  referrers(ref: string, digest: string, artifactType: string): Promise<Referrer[] | null>;
}

export type RegistryOptions = SessionOptions;

export function isIndex(m: Pick<Manifest, "mediaType">): boolean {
  return isIndexMediaType(m.mediaType);
}

export function createRegistryClient(options: RegistryOptions = {}): CountingRegistryClient {
  const session = createSession(options);
  const manifests = new Manifests(session);
  const children = new Children(manifests);
  const referrers = new Referrers(session, options.now);

  async function digest(text: string): Promise<string> {
    const target = resolveTarget(text);
    const found = await manifests.look(target, target.reference);
    // Not found: the GET fails with the registry's own message (or wins a race with a push).
    if (!found) return (await manifests.get(target, target.reference)).manifest.digest;
    // An index is only as good as its platforms: each must still be there (one HEAD each). A single
    // image (the HEAD says so) costs nothing more.
    if (found.mediaType === null || isIndexMediaType(found.mediaType)) {
      await children.present(target, (await manifests.get(target, found.digest)).parsed, found.digest);
    }
    return found.digest;
  }

  async function manifest(text: string): Promise<Manifest> {
    const target = resolveTarget(text);
    const { manifest: m } = await manifests.get(target, target.reference);
    // A copy: the cached bytes are what a retag PUTs.
    return { ...m, body: m.body.slice() };
  }

  /** The top manifest, and with `children` the config digests (child manifests fetched by digest). */
  async function identityOf(text: string, withChildren = true): Promise<ImageIdentity> {
    const target = resolveTarget(text);
    const top = await manifests.get(target, target.reference);
    const configs = withChildren
      ? await configDigests(top.parsed, (child, platform) =>
          children.fetch(target, { index: top.manifest.digest, platform, digest: child }),
        )
      : new Map<string, string>();
    return { digest: top.manifest.digest, kind: top.parsed.kind, configs };
  }

  async function prove(text: string, claimed?: string, opts: { configs?: boolean } = {}) {
    const target = resolveTarget(text);
    const top = await manifests.get(target, target.reference);
    if (claimed !== undefined && top.manifest.digest !== claimed) {
      throw new RegistryError(
        text,
        `the registry claimed ${claimed} for it, but the manifest it serves hashes to ` +
          `${top.manifest.digest} (a lying or broken registry or proxy, or the tag moved meanwhile): not pinned`,
      );
    }
    // Same cache: a child fetched by digest here is not fetched again.
    if (opts.configs) return identityOf(`${repositoryOf(target.ref)}@${top.manifest.digest}`);
    await children.present(target, top.parsed, top.manifest.digest);
    return {
      digest: top.manifest.digest,
      kind: top.parsed.kind,
      configs:
        top.parsed.kind === "image"
          ? new Map([["", top.parsed.image.config.digest]])
          : new Map<string, string>(),
    };
  }

  async function sameImage(a: string, b: string) {
    // The top manifests alone decide when they are identical or of different kinds: no child fetched.
    const [ta, tb] = await Promise.all([identityOf(a, false), identityOf(b, false)]);
    const shallow = ta.digest === tb.digest || ta.kind !== tb.kind;
    const [ia, ib] = shallow ? [ta, tb] : await Promise.all([identityOf(a), identityOf(b)]);
    const { same, reason } = decideSameImage(ia, ib, { a, b });
    return { same, reason };
  }

  return {
    digest,
    retag: (ref, tags, opts) => retag(session, manifests, ref, tags, opts),
    manifest,
    identity: (ref) => identityOf(ref),
    prove,
    sameImage,
    blob: (ref, d, opts) => blob(session, ref, d, opts),
    referrers: (ref, d, type) => referrers.list(ref, d, type),
    stats: () => session.stats(),
  };
}

// OCI distribution client for the cheap, exact operations: digest of a tag (one HEAD), manifests
// verified against their bytes, zero-upload retags in the same repository, and "same image?" checks.
import { createHash } from "node:crypto";
import { type ImageRef, canonicalRepository, parseImageRef, repositoryOf } from "../image/reference.js";
import { type Actions, Authenticator } from "./auth.js";
import { loadCredentials } from "./credentials.js";
import { RegistryError } from "./errors.js";
import {
  type RegistryRequest,
  type RegistryResponse,
  Transport,
  apiHost,
  httpError,
  insecureHostsFromEnv,
} from "./http.js";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

// All four, or registries answer with a child manifest, a 404, or a schema1 conversion.
const ACCEPT = [
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

export interface RetagResult {
  tag: string;
  status: "created" | "exists";
  digest: string;
}

export interface SameImage {
  same: boolean;
  reason: string;
}

export interface RetagOptions {
  /**
   * HEAD each tag first and leave it alone when it already points at the digest (default). With false,
   * every tag is PUT (idempotent) without looking: GET + PUT only, and every result says "created".
   */
  checkExisting?: boolean;
}

export interface RegistryClient {
  /** Manifest or index digest of a tag or digest reference. */
  digest(ref: string): Promise<string>;
  /** Adds tags (same repository) to the manifest ref names, moving no blob. */
  retag(ref: string, tags: string[], options?: RetagOptions): Promise<RetagResult[]>;
  /** The manifest bytes as served, verified against the digest. */
  manifest(ref: string): Promise<Manifest>;
  /** Same digest, or same config digest(s) per platform (content re-encoded). */
  sameImage(a: string, b: string): Promise<SameImage>;
}

/** A blob being read: its bytes are checked against the digest as they pass (the stream errors at the end otherwise). */
export interface BlobStream {
  /** Content-Length as announced, if any. */
  size: number | null;
  stream: ReadableStream<Uint8Array>;
}

/** The client createRegistryClient returns: also counts what it sent (tests, benchmark, logs). */
export interface CountingRegistryClient extends RegistryClient {
  /** Requests sent so far: registry requests and token-endpoint requests. */
  stats(): { requests: number; tokenRequests: number };
  /** Streams a blob (config, layer) of the ref's repository; `timeoutMs` bounds the whole read (default 10 min). */
  blob(ref: string, digest: string, options?: { timeoutMs?: number }): Promise<BlobStream>;
}

export interface RegistryOptions {
  /** Auth files and NOMAD_GITOPS_INSECURE_REGISTRIES are read from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  /** Attempts per request including the first (default 4). */
  maxAttempts?: number;
  baseDelayMs?: number;
  /** Longest wait for one retry, Retry-After included (default 30 s). */
  maxDelayMs?: number;
  /** Per attempt (default 30 s). */
  timeoutMs?: number;
  /** Concurrent requests per registry host (default 8). */
  concurrencyPerHost?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  userAgent?: string;
  /**
   * Ask for pull,push tokens on reads too, so a lookup and a later retag of the same repository share
   * one token (for the bot, which retags what it looks up). Read-only credentials still read.
   */
  pushAccess?: boolean;
}

/** A parsed reference with what the HTTP API needs. */
export interface Target {
  text: string;
  ref: ImageRef;
  /** API host ("registry-1.docker.io" for Docker Hub). */
  host: string;
  /** Repository path on that host ("library/redis"). */
  repository: string;
  /** Digest if given, else tag, else "latest". */
  reference: string;
}

export function resolveTarget(text: string): Target {
  const ref = parseImageRef(text.trim());
  if (!ref) throw new RegistryError(text, "not a valid image reference");
  const canonical = canonicalRepository(repositoryOf(ref));
  const slash = canonical.indexOf("/");
  return {
    text,
    ref,
    host: apiHost(canonical.slice(0, slash)),
    repository: canonical.slice(slash + 1),
    reference: ref.digest ?? ref.tag ?? "latest",
  };
}

const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;

export function digestOf(bytes: Uint8Array, algorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

function validDigest(value: string | null): value is string {
  const m = value ? DIGEST_RE.exec(value) : null;
  return m !== null && m[2]!.length === (m[1] === "sha256" ? 64 : 128);
}

const TAG_RE = /^[\w][\w.-]{0,127}$/;
export const isValidTag = (tag: string) => TAG_RE.test(tag);

function mediaTypeOf(contentType: string | null, body: Uint8Array): string {
  const fromHeader = contentType?.split(";")[0]!.trim() ?? "";
  if (fromHeader && fromHeader !== "application/json" && fromHeader !== "application/octet-stream") {
    return fromHeader;
  }
  try {
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { mediaType?: unknown };
    if (typeof parsed.mediaType === "string") return parsed.mediaType;
  } catch {
    // fall through
  }
  return fromHeader || "application/octet-stream";
}

interface ParsedManifest {
  mediaType?: string;
  schemaVersion?: number;
  config?: { digest?: string };
  manifests?: Array<{ digest?: string; platform?: { os?: string; architecture?: string; variant?: string } }>;
}

export function isIndex(m: Manifest): boolean {
  return m.mediaType === MEDIA_TYPES.ociIndex || m.mediaType === MEDIA_TYPES.dockerList;
}

function parseManifest(ref: string, m: Manifest): ParsedManifest {
  try {
    return JSON.parse(new TextDecoder().decode(m.body)) as ParsedManifest;
  } catch {
    throw new RegistryError(ref, `manifest ${m.digest} is not JSON (${m.mediaType})`);
  }
}

export function platformKey(p: { os?: string; architecture?: string; variant?: string } | undefined): string {
  return [p?.os ?? "?", p?.architecture ?? "?", p?.variant].filter(Boolean).join("/");
}

interface Fetched {
  manifest: Manifest;
  /** Content-Type exactly as served, for a retag PUT. */
  contentType: string;
  parsed: ParsedManifest;
}

/** Manifests kept by digest per client (they are small; an index and its children are a few KiB). */
const MANIFEST_CACHE_SIZE = 1000;

export function createRegistryClient(options: RegistryOptions = {}): CountingRegistryClient {
  const env = options.env ?? process.env;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let authenticator: Authenticator | null = null;
  let transport: Transport | null = null;
  // Auth files are read on first use so a broken file fails that call (with a clear error), not startup.
  const http = (): Transport => {
    if (transport) return transport;
    authenticator = new Authenticator({
      credentials: loadCredentials(env),
      fetch: fetchImpl,
      now,
      timeoutMs,
    });
    transport = new Transport({
      fetch: fetchImpl,
      authenticator,
      insecureHosts: insecureHostsFromEnv(env),
      maxAttempts: options.maxAttempts ?? 4,
      baseDelayMs: options.baseDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      timeoutMs,
      concurrencyPerHost: options.concurrencyPerHost ?? 8,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now,
      random: options.random ?? Math.random,
      userAgent: options.userAgent ?? "nomad-gitops-bot",
    });
    return transport;
  };

  const cache = new Map<string, Fetched>();
  const readActions: Actions = options.pushAccess ? "pull,push" : "pull";

  const send = async (target: Target, req: Omit<RegistryRequest, "ref" | "host" | "repository">) => {
    let t: Transport;
    try {
      t = http();
    } catch (error) {
      throw new RegistryError(target.text, (error as Error).message);
    }
    return t.request({ ...req, ref: target.text, host: target.host, repository: target.repository });
  };

  const fail = (target: Target, req: { method: string; path: string }, res: RegistryResponse) => {
    const error = httpError(
      { ...req, ref: target.text } as RegistryRequest,
      res.status,
      res.body,
      res.gaveUp,
    );
    const details = { status: res.status, ...(error.code ? { code: error.code } : {}) };
    if (res.status === 401 || res.status === 403) {
      return new RegistryError(target.text, `${error.detail}; ${http().explainAuth(target.host)}`, details);
    }
    if (res.status === 404) {
      const what = target.reference.includes(":") ? "manifest" : `tag "${target.reference}"`;
      return new RegistryError(
        target.text,
        `${what} not found in ${target.host}/${target.repository} (${error.detail})`,
        details,
      );
    }
    return error;
  };

  /** GET a manifest and check its bytes against the requested and the announced digest. */
  async function getManifest(
    target: Target,
    reference: string,
    actions: Actions = readActions,
    /** For a GET made only to learn the message of a failed HEAD: one attempt, the HEAD's retry story. */
    afterHead?: RegistryResponse,
  ): Promise<Fetched> {
    // Content-addressed: bytes fetched (and verified) by digest once never change.
    const cacheKey = `${target.host}/${target.repository}@`;
    const cached = reference.includes(":") ? cache.get(cacheKey + reference) : undefined;
    if (cached) return cached;
    const path = `manifests/${reference}`;
    const res = await send(target, {
      method: "GET",
      path,
      actions,
      headers: { accept: ACCEPT },
      ...(afterHead ? { maxAttempts: 1 } : {}),
    });
    if (res.status !== 200) {
      const gaveUp = afterHead?.gaveUp ?? res.gaveUp;
      throw fail({ ...target, reference }, { method: "GET", path }, gaveUp ? { ...res, gaveUp } : res);
    }
    const announced = res.headers.get("docker-content-digest");
    const expected = reference.includes(":") ? reference : validDigest(announced) ? announced : null;
    const algorithm = expected?.split(":")[0] ?? "sha256";
    const actual = digestOf(res.body, algorithm);
    if (expected && expected !== actual) {
      throw new RegistryError(
        target.text,
        `registry served a manifest whose bytes hash to ${actual}, not the ${expected} it ` +
          `${reference.includes(":") ? "was asked for" : "announced"}: not trusted`,
      );
    }
    if (
      announced &&
      validDigest(announced) &&
      announced !== actual &&
      announced.startsWith(`${algorithm}:`)
    ) {
      throw new RegistryError(
        target.text,
        `registry announced digest ${announced} but the bytes hash to ${actual}`,
      );
    }
    const contentType = res.headers.get("content-type");
    const manifest: Manifest = {
      digest: actual,
      mediaType: mediaTypeOf(contentType, res.body),
      body: res.body,
    };
    const parsed = parseManifest(target.text, manifest);
    if (parsed.schemaVersion === 1 || manifest.mediaType.includes("distribution.manifest.v1")) {
      throw new RegistryError(target.text, "registry served a schema1 manifest, which is not supported");
    }
    const fetched = { manifest, contentType: contentType ?? manifest.mediaType, parsed };
    cache.set(cacheKey + actual, fetched);
    if (cache.size > MANIFEST_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return fetched;
  }

  async function headDigest(
    target: Target,
    reference: string,
    actions: Actions = readActions,
  ): Promise<string | null> {
    const path = `manifests/${reference}`;
    const res = await send(target, { method: "HEAD", path, actions, headers: { accept: ACCEPT } });
    if (res.status === 404) return null;
    if (res.status !== 200) {
      // HEAD answers have no body: one GET brings the registry's own message (or, if the fault has
      // passed meanwhile, the manifest itself).
      return (await getManifest(target, reference, actions, res)).manifest.digest;
    }
    const digest = res.headers.get("docker-content-digest");
    if (!validDigest(digest)) return (await getManifest(target, reference, actions)).manifest.digest;
    if (reference.includes(":") && digest !== reference) {
      throw new RegistryError(
        target.text,
        `registry answered digest ${digest} for ${reference}: not trusted`,
      );
    }
    return digest;
  }

  async function digest(text: string): Promise<string> {
    const target = resolveTarget(text);
    const found = await headDigest(target, target.reference);
    // Not found: the GET fails with the registry's own message (or wins a race with a push).
    return found ?? (await getManifest(target, target.reference)).manifest.digest;
  }

  async function manifest(text: string): Promise<Manifest> {
    const target = resolveTarget(text);
    const { manifest: m } = await getManifest(target, target.reference);
    // A copy: the cached bytes are what a retag PUTs.
    return { ...m, body: m.body.slice() };
  }

  async function retag(text: string, tags: string[], opts: RetagOptions = {}): Promise<RetagResult[]> {
    const target = resolveTarget(text);
    for (const tag of tags) {
      if (!isValidTag(tag)) throw new RegistryError(text, `"${tag}" is not a valid tag`);
    }
    const checkExisting = opts.checkExisting ?? true;
    // One GET, by tag or digest; its bytes are PUT unchanged, so the digest cannot move.
    let source: Fetched | null = null;
    let sourceError: unknown = null;
    const loadSource = async (): Promise<Fetched> => {
      if (sourceError) throw sourceError;
      try {
        return (source ??= await getManifest(target, target.reference, "pull,push"));
      } catch (error) {
        sourceError = error;
        throw error;
      }
    };

    const results: RetagResult[] = [];
    const failures: string[] = [];
    for (const tag of [...new Set(tags)]) {
      try {
        if (checkExisting) {
          const current = await headDigest({ ...target, reference: tag }, tag, "pull,push");
          const wanted = target.ref.digest ?? (await loadSource()).manifest.digest;
          if (current === wanted) {
            results.push({ tag, status: "exists", digest: current });
            continue;
          }
        }
        const src = await loadSource();
        const path = `manifests/${tag}`;
        const res = await send(target, {
          method: "PUT",
          path,
          actions: "pull,push",
          headers: { "content-type": src.contentType },
          body: src.manifest.body,
        });
        if (res.status !== 201 && res.status !== 200) throw fail(target, { method: "PUT", path }, res);
        const returned = res.headers.get("docker-content-digest");
        if (returned && returned !== src.manifest.digest) {
          throw new RegistryError(
            text,
            `registry stored tag ${tag} as ${returned}, expected ${src.manifest.digest} (identical bytes were sent)`,
          );
        }
        results.push({ tag, status: "created", digest: src.manifest.digest });
      } catch (error) {
        // Without the source manifest no tag can be written: one error for the image, not per tag.
        if (!(error instanceof RegistryError) || error === sourceError) throw error;
        failures.push(`${tag}: ${error.detail}`);
      }
    }
    if (failures.length > 0) throw new RetagError(text, results, failures);
    return results;
  }

  /** Config digest per platform ("linux/amd64" → sha256:…), or one entry "" for a single manifest. */
  async function configs(target: Target, m: Manifest, parsed: ParsedManifest): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (!isIndex(m)) {
      if (!parsed.config?.digest) throw new RegistryError(target.text, `manifest ${m.digest} has no config`);
      out.set("", parsed.config.digest);
      return out;
    }
    for (const child of parsed.manifests ?? []) {
      if (!child.digest) continue;
      const key = platformKey(child.platform);
      if (key === "unknown/unknown") continue; // attestation manifests (buildkit) carry no image
      const sub = await getManifest(target, child.digest);
      if (isIndex(sub.manifest)) continue; // nested indexes are not images of one platform
      if (!sub.parsed.config?.digest) continue;
      out.set(key, sub.parsed.config.digest);
    }
    return out;
  }

  async function sameImage(a: string, b: string): Promise<SameImage> {
    const ta = resolveTarget(a);
    const tb = resolveTarget(b);
    const [ma, mb] = await Promise.all([getManifest(ta, ta.reference), getManifest(tb, tb.reference)]);
    if (ma.manifest.digest === mb.manifest.digest) {
      return { same: true, reason: `identical manifest digest ${ma.manifest.digest}` };
    }
    if (isIndex(ma.manifest) !== isIndex(mb.manifest)) {
      return {
        same: false,
        reason: `${isIndex(ma.manifest) ? a : b} is a multi-platform index, the other a single image`,
      };
    }
    const [ca, cb] = await Promise.all([
      configs(ta, ma.manifest, ma.parsed),
      configs(tb, mb.manifest, mb.parsed),
    ]);
    const { same, reason } = compareConfigs(ca, cb);
    return { same, reason };
  }

  async function blob(text: string, digest: string, opts: { timeoutMs?: number } = {}): Promise<BlobStream> {
    const target = resolveTarget(text);
    if (!validDigest(digest)) throw new RegistryError(text, `"${digest}" is not a valid blob digest`);
    const path = `blobs/${digest}`;
    const res = await send(target, {
      method: "GET",
      path,
      actions: readActions,
      stream: true,
      timeoutMs: opts.timeoutMs ?? 600_000,
    });
    if (res.status !== 200 || !res.stream) {
      if (res.status === 404) {
        throw new RegistryError(text, `blob ${digest} not found in ${target.host}/${target.repository}`, {
          status: 404,
        });
      }
      throw fail(target, { method: "GET", path }, res);
    }
    const length = Number(res.headers.get("content-length"));
    const algorithm = digest.split(":")[0]!;
    const hash = createHash(algorithm);
    const verify = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
      flush(controller) {
        const actual = `${algorithm}:${hash.digest("hex")}`;
        if (actual !== digest) {
          controller.error(
            new RegistryError(
              text,
              `registry served blob bytes hashing to ${actual}, not ${digest}: not trusted`,
            ),
          );
        }
      },
    });
    return {
      size: Number.isFinite(length) && res.headers.has("content-length") ? length : null,
      stream: res.stream.pipeThrough(verify),
    };
  }

  return {
    digest,
    retag,
    manifest,
    sameImage,
    blob,
    stats: () => ({
      requests: transport?.requestCount ?? 0,
      tokenRequests: (authenticator as Authenticator | null)?.tokenRequests ?? 0,
    }),
  };
}

/** Compares config digests per platform ("" for single images): equal sets mean re-encoded content. */
export function compareConfigs(
  a: Map<string, string>,
  b: Map<string, string>,
): SameImage & { /** What proved them the same, without the remark on encoding. */ evidence?: string } {
  const platforms = [...new Set([...a.keys(), ...b.keys()])].sort();
  const missing = platforms.filter((p) => !a.has(p) || !b.has(p));
  if (missing.length > 0) return { same: false, reason: `platforms differ: ${missing.join(", ")}` };
  const changed = platforms.filter((p) => a.get(p) !== b.get(p));
  const single = platforms.length === 1 && platforms[0] === "";
  if (changed.length > 0) {
    return {
      same: false,
      reason: single
        ? `config digest differs (${a.get("")} vs ${b.get("")})`
        : `config digest differs for ${changed.join(", ")}`,
    };
  }
  const evidence = single ? `same config ${a.get("")}` : `same config per platform (${platforms.join(", ")})`;
  return { same: true, reason: `${evidence}, same content, manifest encoded differently`, evidence };
}

/** Some tags of a retag failed; `results` holds the ones that worked. */
export class RetagError extends RegistryError {
  constructor(
    ref: string,
    readonly results: RetagResult[],
    readonly failures: string[],
  ) {
    super(ref, `retag failed for ${failures.join("; ")}`);
    this.name = "RetagError";
  }
}

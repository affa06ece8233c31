// OCI/Docker image manifests and indexes as they travel (registry answers, OCI layouts): zod schemas for
// the untrusted JSON, the walk from an index to each platform's config digest (written once, for the
// registry client, local layouts and explain), and the one "same image?" decision. Pure: loading a
// child manifest is the caller's port.
import { z } from "zod";

export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
export const isIndexMediaType = (mediaType: string | undefined) => INDEX_TYPES.has(mediaType ?? "");

const platformSchema = z.object({
  os: z.string().optional(),
  architecture: z.string().optional(),
  variant: z.string().optional(),
});
export type Platform = z.infer<typeof platformSchema>;

export const descriptorSchema = z.object({
  mediaType: z.string().optional(),
  digest: z.string().regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, "is not a digest"),
  size: z.number().int().nonnegative().optional(),
  platform: platformSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const imageManifestSchema = z.object({
  schemaVersion: z.literal(2).optional(),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema).default([]),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

export const imageIndexSchema = z.object({
  schemaVersion: z.literal(2).optional(),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageIndex = z.infer<typeof imageIndexSchema>;

const strings = z.array(z.string()).nullish();

/** The parts of an OCI/Docker image config the bot looks at; other fields pass unchecked and are dropped. */
export const imageConfigSchema = z.object({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string().optional(),
  os: z.string().optional(),
  variant: z.string().optional(),
  config: z
    .object({
      Env: strings,
      Labels: z.record(z.string(), z.string()).nullish(),
      Entrypoint: strings,
      Cmd: strings,
      WorkingDir: z.string().optional(),
      User: z.string().optional(),
      ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
      Volumes: z.record(z.string(), z.unknown()).nullish(),
      StopSignal: z.string().optional(),
    })
    .nullish(),
  rootfs: z.object({ type: z.string().optional(), diff_ids: z.array(z.string()).optional() }).optional(),
  history: z
    .array(
      z.object({
        created: z.string().optional(),
        created_by: z.string().optional(),
        comment: z.string().optional(),
        empty_layer: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

/** A manifest read from bytes: an index (several platforms) or one image. */
export type ParsedManifest = { kind: "index"; index: ImageIndex } | { kind: "image"; image: ImageManifest };

/** The bytes as JSON checked against a schema; `json: false` when they are not even JSON. */
export function parseJson<T>(
  bytes: Uint8Array | string,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; json: boolean; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch {
    return { ok: false, json: false, error: "not JSON" };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0]!;
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return { ok: false, json: true, error: `${where}${issue.message}` };
}

/**
 * Reads manifest bytes. An index is told by its media type (from the Content-Type or the body) or, for
 * registries that omit both, by a `manifests` list. Throws an Error saying what is wrong.
 */
export function parseManifest(bytes: Uint8Array, mediaType?: string): ParsedManifest {
  const head = parseJson(
    bytes,
    z.object({
      schemaVersion: z.unknown().optional(),
      mediaType: z.string().optional(),
      manifests: z.unknown().optional(),
    }),
  );
  if (!head.ok) throw new Error(head.json ? "is not a JSON object" : "is not JSON");
  const type = mediaType ?? head.value.mediaType;
  if (head.value.schemaVersion === 1 || type?.includes("distribution.manifest.v1")) {
    throw new Error("is a schema1 manifest, which is not supported");
  }
  if (isIndexMediaType(type) || (type === undefined && head.value.manifests !== undefined)) {
    const index = parseJson(bytes, imageIndexSchema);
    if (!index.ok) throw new Error(`is not a valid image index (${index.error})`);
    return { kind: "index", index: index.value };
  }
  const image = parseJson(bytes, imageManifestSchema);
  if (!image.ok) throw new Error(`is not a valid image manifest (${image.error})`);
  return { kind: "image", image: image.value };
}

/** "linux/arm64/v8"; "?" for a missing part. */
export function platformKey(p: Platform | undefined): string {
  return [p?.os ?? "?", p?.architecture ?? "?", p?.variant].filter(Boolean).join("/");
}

/**
 * The image manifests of an index by platform. Left out: attestation manifests (buildkit lists them as
 * `unknown/unknown`; they carry no image), nested indexes, and a platform listed twice after the first
 * (the one a pull would take).
 */
export function platformManifests(index: ImageIndex): Map<string, Descriptor> {
  const out = new Map<string, Descriptor>();
  for (const d of index.manifests) {
    const key = platformKey(d.platform);
    if (key === "unknown/unknown" || isIndexMediaType(d.mediaType) || out.has(key)) continue;
    out.set(key, d);
  }
  return out;
}

/** Config digest per platform; "" is the single entry of a one-platform image. */
export type ConfigDigests = Map<string, string>;

/**
 * The config digest of each platform of a manifest or index. `load` fetches a child manifest by digest
 * (a registry GET, a blob of an OCI layout); a child that turns out to be an index is left out.
 */
export async function configDigests(
  top: ParsedManifest,
  load: (digest: string, platform: string) => Promise<ParsedManifest>,
): Promise<ConfigDigests> {
  if (top.kind === "image") return new Map([["", top.image.config.digest]]);
  const children = [...platformManifests(top.index)];
  const loaded = await Promise.all(children.map(([key, d]) => load(d.digest, key)));
  const out: ConfigDigests = new Map();
  children.forEach(([key], i) => {
    const child = loaded[i]!;
    if (child.kind === "image") out.set(key, child.image.config.digest);
  });
  return out;
}

/** What decides whether two images are the same: the manifest digest when known, and the configs. */
export interface ImageIdentity {
  /** Manifest/index digest; null when the source has none yet (a docker-archive is encoded on push). */
  digest: string | null;
  /** A multi-platform index or one image; when known, a mismatch decides without the configs. */
  kind?: ParsedManifest["kind"];
  configs: ConfigDigests;
}

export interface SameImage {
  same: boolean;
  reason: string;
  /** How they are the same: the manifest (byte-identical) or the content (same configs, re-encoded). */
  by?: "manifest" | "content";
  /** What proved them the same, without the remark on encoding. */
  evidence?: string;
}

/**
 * The one "same image?" decision. Same manifest digest: the same bytes. Otherwise the same config
 * digest on every platform means the same `diff_ids` and runtime config: the same content, encoded
 * differently (compression, manifest fields).
 */
export function sameImage(
  a: ImageIdentity,
  b: ImageIdentity,
  /** How the messages name the two (default "the first", "the second"). */
  names: { a: string; b: string } = { a: "the first", b: "the second" },
): SameImage {
  if (a.digest !== null && a.digest === b.digest) {
    return {
      same: true,
      by: "manifest",
      reason: `same manifest ${a.digest}`,
      evidence: `same manifest ${a.digest}`,
    };
  }
  const kindA = a.kind ?? (a.configs.has("") ? "image" : "index");
  const kindB = b.kind ?? (b.configs.has("") ? "image" : "index");
  if (kindA !== kindB) {
    return {
      same: false,
      reason: `${kindA === "index" ? names.a : names.b} is a multi-platform index, the other a single image`,
    };
  }
  const platforms = [...new Set([...a.configs.keys(), ...b.configs.keys()])].sort();
  const single = platforms.length === 1 && platforms[0] === "";
  if (platforms.length === 0) return { same: false, reason: "neither lists an image platform" };
  const missing = platforms.filter((p) => !a.configs.has(p) || !b.configs.has(p));
  if (missing.length > 0) return { same: false, reason: `platforms differ: ${missing.join(", ")}` };
  const changed = platforms.filter((p) => a.configs.get(p) !== b.configs.get(p));
  if (changed.length > 0) {
    return {
      same: false,
      reason: single
        ? `config digest differs (${a.configs.get("")} vs ${b.configs.get("")})`
        : `config digest differs for ${changed.join(", ")}`,
    };
  }
  const evidence = single
    ? `same config ${a.configs.get("")}`
    : `same config per platform (${platforms.join(", ")})`;
  return {
    same: true,
    by: "content",
    reason: `${evidence}, same content, manifest encoded differently`,
    evidence,
  };
}

// Deterministic images for the demo, benchmarks and tests: tar layers with fixed mtimes and owners,
// gzip with a fixed header and stored (level 0) deflate blocks so the bytes do not depend on the zlib
// build, config JSON, manifests and indexes. Written as OCI layouts or docker-archives, or uploaded
// straight to a registry over HTTP.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import zlib, { gzipSync } from "node:zlib";

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageSpec {
  /** One layer per entry: path → file content. */
  layers: Array<Record<string, string>>;
  platform?: Platform;
  /** Extra config fields (e.g. Env) so two images can differ only in their config. */
  env?: string[];
  /** "oci" (default) or Docker schema 2 media types. */
  format?: "oci" | "docker";
  /** OCI only: zstd layers need a Node with zlib zstd (22.15+). */
  compression?: "gzip" | "zstd";
  /** Header fields of some entries, by path (in whichever layer holds them). */
  entryMeta?: Record<string, TarEntryMeta>;
  /** gzip header and level of every layer (default mtime 0, OS 255, level 0): re-encodings. */
  gzip?: GzipOptions;
  /** Config `created` (default the epoch) and labels. */
  created?: string;
  labels?: Record<string, string>;
  /** Manifest annotations: a difference in the manifest only. */
  annotations?: Record<string, string>;
  /** Files in a layer in the order given instead of sorted by path. */
  unsortedFiles?: boolean;
}

export interface GzipOptions {
  /** Seconds since the epoch written into the gzip header (a builder that stamps the time). */
  mtime?: number;
  /** The header's OS byte (3 = Unix, 255 = unknown). */
  os?: number;
  /** zlib level 0 to 9. */
  level?: number;
}

export interface Blob {
  digest: string;
  bytes: Uint8Array;
}

export interface BuiltImage {
  kind: "manifest";
  mediaType: string;
  manifest: Blob;
  config: Blob;
  /** Compressed layer blobs, with the digest of the uncompressed tar (the config's diff_id). */
  layers: Array<Blob & { diffId: string; tar: Uint8Array }>;
  platform: Platform;
}

export interface BuiltIndex {
  kind: "index";
  mediaType: string;
  manifest: Blob;
  images: BuiltImage[];
}

export type Built = BuiltImage | BuiltIndex;

export const sha256 = (bytes: Uint8Array | string) =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const blob = (bytes: Uint8Array): Blob => ({ digest: sha256(bytes), bytes });
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Per-entry header fields for tar(); unset ones keep the defaults. */
export interface TarEntryMeta {
  /** Seconds since the epoch (default 0). */
  mtime?: number;
  /** Permission bits (default 0o644). */
  mode?: number;
  uid?: number;
  gid?: number;
}

function tarHeader(name: string, size: number, type: string, meta: TarEntryMeta = {}): Buffer {
  const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, "0")}\0`;
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, "utf8"); // a longer name is cut here; its pax header has it whole
  header.write(octal(meta.mode ?? 0o644, 8), 100, "ascii");
  header.write(octal(meta.uid ?? 0, 8), 108, "ascii");
  header.write(octal(meta.gid ?? 0, 8), 116, "ascii");
  header.write(octal(size, 12), 124, "ascii");
  header.write(octal(meta.mtime ?? 0, 12), 136, "ascii");
  header.write("        ", 148, "ascii"); // checksum is computed with this field as spaces
  header.write(type, 156, "ascii");
  header.write("ustar\0", 257, "ascii");
  header.write("00", 263, "ascii");
  header.write("root", 265, "ascii");
  header.write("root", 297, "ascii");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return header;
}

const pad = (n: number) => new Uint8Array((512 - (n % 512)) % 512);

/**
 * A ustar archive of regular files, mode 0644, uid/gid 0, mtime 0 unless `meta` says otherwise, in the
 * given order. Names over 100 bytes get a pax extended header (`path=`), as GNU tar and Go write them.
 */
export function tar(
  files: Array<[string, Uint8Array | string] | [string, Uint8Array | string, TarEntryMeta]>,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const [name, content, meta] of files) {
    const data = typeof content === "string" ? new TextEncoder().encode(content) : content;
    if (Buffer.byteLength(name) > 100) {
      // A pax record is "<length> path=<name>\n", the length counting its own digits.
      const body = ` path=${name}\n`;
      let length = Buffer.byteLength(body) + 1;
      while (String(length).length + Buffer.byteLength(body) !== length) length++;
      const record = Buffer.from(`${length}${body}`, "utf8");
      chunks.push(tarHeader("PaxHeaders/long", record.length, "x"), record, pad(record.length));
    }
    chunks.push(tarHeader(name, data.length, "0", meta), data, pad(data.length));
  }
  chunks.push(new Uint8Array(1024));
  return Buffer.concat(chunks);
}

/** gzip with mtime 0, OS "unknown" and stored blocks by default: identical bytes on every zlib. */
export function gzip(data: Uint8Array, options: GzipOptions = {}): Uint8Array {
  const out = gzipSync(data, { level: options.level ?? 0 });
  out.writeUInt32LE(options.mtime ?? 0, 4);
  out[9] = options.os ?? 0xff;
  return out;
}

/** zstd with the level fixed: same bytes for the same input on one zstd build. */
export function zstd(data: Uint8Array): Uint8Array {
  const compress = (zlib as { zstdCompressSync?: (d: Uint8Array) => Uint8Array }).zstdCompressSync;
  if (!compress) throw new Error(`zstd layers need Node 22.15+ (this is ${process.version})`);
  return compress(data);
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const format = spec.format ?? "oci";
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers = spec.layers.map((files) => {
    const entries = Object.entries(files);
    if (!spec.unsortedFiles) entries.sort(([a], [b]) => (a < b ? -1 : 1));
    const layerTar = tar(entries.map(([name, content]) => [name, content, spec.entryMeta?.[name] ?? {}]));
    const compressed = spec.compression === "zstd" ? zstd(layerTar) : gzip(layerTar, spec.gzip);
    return { ...blob(compressed), diffId: sha256(layerTar), tar: layerTar };
  });
  const config = blob(
    json({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: spec.created ?? "1970-01-01T00:00:00Z",
      config: { Env: spec.env ?? ["PATH=/bin"], ...(spec.labels ? { Labels: spec.labels } : {}) },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({
        created: "1970-01-01T00:00:00Z",
        created_by: "nomad-gitops-bot sandbox",
      })),
    }),
  );
  const mediaType = format === "oci" ? MEDIA.ociManifest : MEDIA.dockerManifest;
  const manifest = blob(
    json({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: format === "oci" ? MEDIA.ociConfig : MEDIA.dockerConfig,
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: layers.map((l) => ({
        mediaType:
          format === "docker"
            ? MEDIA.dockerLayer
            : spec.compression === "zstd"
              ? MEDIA.ociLayerZstd
              : MEDIA.ociLayer,
        digest: l.digest,
        size: l.bytes.length,
      })),
      ...(spec.annotations ? { annotations: spec.annotations } : {}),
    }),
  );
  return { kind: "manifest", mediaType, manifest, config, layers, platform };
}

export function buildIndex(images: BuiltImage[], format: "oci" | "docker" = "oci"): BuiltIndex {
  const mediaType = format === "oci" ? MEDIA.ociIndex : MEDIA.dockerList;
  const manifest = blob(
    json({
      schemaVersion: 2,
      mediaType,
      manifests: images.map((image) => ({
        mediaType: image.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.bytes.length,
        platform: image.platform,
      })),
    }),
  );
  return { kind: "index", mediaType, manifest, images };
}

/** A two-platform (linux/amd64 + linux/arm64) index whose images differ in one file. */
export function buildMultiArch(name: string, format: "oci" | "docker" = "oci"): BuiltIndex {
  const arches = ["amd64", "arm64"];
  return buildIndex(
    arches.map((architecture) =>
      buildImage({
        format,
        platform: { os: "linux", architecture },
        layers: [{ "etc/name": name }, { "bin/arch": architecture }],
      }),
    ),
    format,
  );
}

function allBlobs(built: Built): Blob[] {
  const images = built.kind === "index" ? built.images : [built];
  const blobs = images.flatMap((image) => [image.config, ...image.layers, image.manifest]);
  if (built.kind === "index") blobs.push(built.manifest);
  return blobs;
}

/** Writes an OCI image layout; `tag` becomes the org.opencontainers.image.ref.name annotation. */
export async function writeOciLayout(dir: string, built: Built, tag?: string): Promise<string> {
  await mkdir(path.join(dir, "blobs", "sha256"), { recursive: true });
  for (const b of allBlobs(built)) {
    await writeFile(path.join(dir, "blobs", "sha256", b.digest.slice("sha256:".length)), b.bytes);
  }
  await writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const descriptor = {
    mediaType: built.mediaType,
    digest: built.manifest.digest,
    size: built.manifest.bytes.length,
    ...(tag ? { annotations: { "org.opencontainers.image.ref.name": tag } } : {}),
  };
  await writeFile(
    path.join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [descriptor] }),
  );
  return dir;
}

/** Writes a `docker save`-style archive (uncompressed layer tars, manifest.json last, as docker does). */
export async function writeDockerArchive(file: string, image: BuiltImage, repoTag?: string): Promise<string> {
  const configName = `${image.config.digest.slice("sha256:".length)}.json`;
  const layerNames = image.layers.map((l) => `${l.diffId.slice("sha256:".length)}/layer.tar`);
  const entries: Array<[string, Uint8Array | string]> = [
    [configName, image.config.bytes],
    ...image.layers.map((l, i): [string, Uint8Array] => [layerNames[i]!, l.tar]),
    [
      "manifest.json",
      JSON.stringify([{ Config: configName, RepoTags: repoTag ? [repoTag] : null, Layers: layerNames }]),
    ],
  ];
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, tar(entries));
  return file;
}

export interface UploadOptions {
  /** "user:password" for registries with htpasswd. */
  basic?: string;
  /** A token for registries with token auth (it must grant push on the repository). */
  bearer?: string;
}

/**
 * Uploads every blob (monolithic POST+PUT, skipped when the registry has it) and the manifests, then
 * tags the top manifest. Direct HTTP, so setup is fast and independent of the registry client under test.
 */
export async function pushTestImage(
  host: string,
  repo: string,
  tag: string,
  built: Built,
  options: UploadOptions = {},
): Promise<string> {
  const base = `http://${host}/v2/${repo}`;
  const headers: Record<string, string> = options.basic
    ? { authorization: `Basic ${Buffer.from(options.basic).toString("base64")}` }
    : options.bearer
      ? { authorization: `Bearer ${options.bearer}` }
      : {};
  const check = async (res: Response, what: string) => {
    if (!res.ok) throw new Error(`pushTestImage ${what}: HTTP ${res.status} ${await res.text()}`);
  };
  const images = built.kind === "index" ? built.images : [built];
  for (const image of images) {
    for (const b of [image.config, ...image.layers]) {
      const head = await fetch(`${base}/blobs/${b.digest}`, { method: "HEAD", headers });
      if (head.ok) continue;
      const start = await fetch(`${base}/blobs/uploads/`, { method: "POST", headers });
      await check(start, "start upload");
      const location = new URL(start.headers.get("location")!, `http://${host}`);
      location.searchParams.set("digest", b.digest);
      const put = await fetch(location, {
        method: "PUT",
        headers: { ...headers, "content-type": "application/octet-stream" },
        body: b.bytes,
      });
      await check(put, `upload ${b.digest}`);
    }
    if (built.kind === "index") {
      const put = await fetch(`${base}/manifests/${image.manifest.digest}`, {
        method: "PUT",
        headers: { ...headers, "content-type": image.mediaType },
        body: image.manifest.bytes,
      });
      await check(put, "child manifest");
    }
  }
  const put = await fetch(`${base}/manifests/${tag}`, {
    method: "PUT",
    headers: { ...headers, "content-type": built.mediaType },
    body: built.manifest.bytes,
  });
  await check(put, "manifest");
  return built.manifest.digest;
}

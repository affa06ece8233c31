// What a local image source contains, without unpacking it: the config digest of a docker-archive
// (streamed tar, gzip-compressed or not) or the manifest/config digests of an OCI layout. This is what
// lets a push be skipped when the registry already has the same image.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { platformKey } from "./client.js";

export type ImageSource =
  { transport: "docker-archive"; path: string } | { transport: "oci"; path: string; tag: string | null };

export interface LocalImage {
  /** Manifest/index digest when the source has one (OCI layouts); docker-archives are re-encoded on push. */
  manifestDigest: string | null;
  /** Config digest per platform; "" is the single entry of a one-platform image. */
  configs: Map<string, string>;
  /** The source as skopeo takes it. */
  skopeoName: string;
}

/** `docker-archive:PATH` or `oci:DIR[:tag]`; null when it is neither. */
export function parseImageSource(text: string): ImageSource | null {
  if (text.startsWith("docker-archive:")) {
    const file = text.slice("docker-archive:".length);
    return file ? { transport: "docker-archive", path: file } : null;
  }
  if (text.startsWith("oci:")) {
    const rest = text.slice("oci:".length);
    // As in containers/image: the directory ends at the first colon.
    const colon = rest.indexOf(":");
    const dir = colon >= 0 ? rest.slice(0, colon) : rest;
    const tag = colon >= 0 ? rest.slice(colon + 1) : null;
    if (!dir || tag === "") return null;
    return { transport: "oci", path: dir, tag };
  }
  return null;
}

export class SourceError extends Error {}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

export async function readLocalImage(source: ImageSource, cwd = process.cwd()): Promise<LocalImage> {
  const resolved = path.resolve(cwd, source.path);
  if (source.transport === "docker-archive") {
    const config = await dockerArchiveConfig(resolved);
    return {
      manifestDigest: null,
      configs: new Map([["", config]]),
      skopeoName: `docker-archive:${resolved}`,
    };
  }
  return readOciLayout(resolved, source.tag);
}

// --- docker-archive --------------------------------------------------------------------------------

interface TarEntry {
  name: string;
  data: Uint8Array;
}

/**
 * Streams a tar and keeps only small JSON files (manifest.json, configs): layers are skipped, so a
 * multi-GB archive costs one pass and little memory. docker save writes manifest.json last.
 */
async function smallJsonEntries(file: string): Promise<TarEntry[]> {
  const head = Buffer.alloc(2);
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    throw new SourceError(
      `cannot open ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(file);
  const stream = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;

  const entries: TarEntry[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let skip = 0; // bytes of the current entry (plus padding) still to discard
  let collecting: { name: string; size: number; padded: number; chunks: Buffer[]; got: number } | null = null;
  let longName: string | null = null;
  let ended = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      while (buffer.length > 0 && !ended) {
        if (skip > 0) {
          const n = Math.min(skip, buffer.length);
          if (collecting) {
            const useful = Math.max(0, Math.min(n, collecting.size - collecting.got));
            if (useful > 0) collecting.chunks.push(buffer.subarray(0, useful));
            collecting.got += useful;
          }
          buffer = buffer.subarray(n);
          skip -= n;
          if (skip === 0 && collecting) {
            const data = Buffer.concat(collecting.chunks);
            if (collecting.name === "././@LongLink") longName = data.toString("utf8").replace(/\0.*$/s, "");
            else if (collecting.name === "././@PaxHeader")
              longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"))?.[1] ?? null;
            else entries.push({ name: collecting.name, data });
            collecting = null;
          }
          continue;
        }
        if (buffer.length < 512) break;
        const header = buffer.subarray(0, 512);
        buffer = buffer.subarray(512);
        if (header.every((b) => b === 0)) {
          ended = true;
          break;
        }
        const field = (start: number, length: number) =>
          header
            .subarray(start, start + length)
            .toString("utf8")
            .replace(/\0.*$/s, "");
        const prefix = field(345, 155);
        let name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
        if (longName) {
          name = longName;
          longName = null;
        }
        const size = parseInt(field(124, 12).trim() || "0", 8);
        const type = field(156, 1) || "0";
        if (Number.isNaN(size)) throw new SourceError(`${file} is not a tar archive`);
        const padded = Math.ceil(size / 512) * 512;
        name = name.replace(/^\.\//, "");
        const meta = type === "L" ? "././@LongLink" : type === "x" ? "././@PaxHeader" : null;
        const wanted = meta !== null || (type === "0" && name.endsWith(".json") && size < 4 << 20);
        collecting = wanted ? { name: meta ?? name, size, padded, chunks: [], got: 0 } : null;
        skip = padded;
        if (padded === 0 && collecting) {
          entries.push({ name: collecting.name, data: Buffer.alloc(0) });
          collecting = null;
        }
      }
      if (ended) break;
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw new SourceError(`cannot read ${file}: ${(error as Error).message}`);
  } finally {
    raw.destroy();
  }
  return entries;
}

async function dockerArchiveConfig(file: string): Promise<string> {
  const entries = await smallJsonEntries(file);
  const manifestEntry = entries.find((e) => e.name === "manifest.json");
  if (!manifestEntry) throw new SourceError(`${file} is not a docker-archive (no manifest.json)`);
  let manifest: Array<{ Config?: unknown }>;
  try {
    manifest = JSON.parse(Buffer.from(manifestEntry.data).toString("utf8")) as typeof manifest;
  } catch {
    throw new SourceError(`${file}: manifest.json is not JSON`);
  }
  if (!Array.isArray(manifest) || manifest.length === 0)
    throw new SourceError(`${file}: manifest.json lists no image`);
  if (manifest.length > 1) {
    throw new SourceError(`${file} holds ${manifest.length} images; push takes an archive of one image`);
  }
  const configName = manifest[0]!.Config;
  if (typeof configName !== "string") throw new SourceError(`${file}: manifest.json has no Config`);
  const config = entries.find((e) => e.name === configName.replace(/^\.\//, ""));
  if (!config) throw new SourceError(`${file}: config ${configName} is missing from the archive`);
  return sha256(config.data);
}

// --- OCI layout ------------------------------------------------------------------------------------

interface Descriptor {
  mediaType?: string;
  digest?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

async function readOciLayout(dir: string, tag: string | null): Promise<LocalImage> {
  const readJson = async <T>(file: string, what: string): Promise<{ value: T; bytes: Uint8Array }> => {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new SourceError(
        `${what}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    try {
      return { value: JSON.parse(Buffer.from(bytes).toString("utf8")) as T, bytes };
    } catch {
      throw new SourceError(`${what}: ${file} is not JSON`);
    }
  };
  const blob = async <T>(digest: string | undefined, what: string) => {
    const m = digest ? /^sha256:([a-f0-9]{64})$/.exec(digest) : null;
    if (!m) throw new SourceError(`${dir}: ${what} has an unsupported digest ${digest ?? "(none)"}`);
    const result = await readJson<T>(path.join(dir, "blobs", "sha256", m[1]!), `${dir}: ${what}`);
    if (sha256(result.bytes) !== digest)
      throw new SourceError(`${dir}: blob ${digest} does not match its content`);
    return result.value;
  };

  const { value: index } = await readJson<{ manifests?: Descriptor[] }>(
    path.join(dir, "index.json"),
    `${dir} is not an OCI layout`,
  );
  const manifests = index.manifests ?? [];
  const refName = (d: Descriptor) => d.annotations?.["org.opencontainers.image.ref.name"];
  let chosen: Descriptor | undefined;
  if (tag !== null) {
    chosen = manifests.find((d) => refName(d) === tag);
    if (!chosen) {
      const names = manifests.map(refName).filter(Boolean);
      throw new SourceError(`${dir} has no image tagged "${tag}" (tags: ${names.join(", ") || "none"})`);
    }
  } else if (manifests.length === 1) {
    chosen = manifests[0];
  } else {
    throw new SourceError(`${dir} holds ${manifests.length} images: name one as oci:${dir}:TAG`);
  }
  const top = chosen!;
  const configs = new Map<string, string>();
  const isIndexType = (t?: string) =>
    t === "application/vnd.oci.image.index.v1+json" ||
    t === "application/vnd.docker.distribution.manifest.list.v2+json";
  if (isIndexType(top.mediaType)) {
    const child = await blob<{ manifests?: Descriptor[] }>(top.digest, "index");
    for (const d of child.manifests ?? []) {
      const key = platformKey(d.platform);
      if (key === "unknown/unknown" || isIndexType(d.mediaType)) continue;
      const m = await blob<{ config?: { digest?: string } }>(d.digest, `manifest for ${key}`);
      if (m.config?.digest) configs.set(key, m.config.digest);
    }
  } else {
    const m = await blob<{ config?: { digest?: string } }>(top.digest, "manifest");
    if (!m.config?.digest) throw new SourceError(`${dir}: manifest ${top.digest} has no config`);
    configs.set("", m.config.digest);
  }
  return {
    manifestDigest: top.digest!,
    configs,
    skopeoName: `oci:${dir}${tag !== null ? `:${tag}` : ""}`,
  };
}

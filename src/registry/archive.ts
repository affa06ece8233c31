// What a local image source contains, without unpacking it: the config digest of a docker-archive
// (streamed tar, gzip-compressed or not) or the manifest/config digests of an OCI layout. This is what
// lets a push be skipped when the registry already has the same image.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readFile } from "node:fs/promises";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { z } from "zod";
import {
  type ImageIdentity,
  type ParsedManifest,
  configDigests,
  descriptorSchema,
  parseJson,
  parseManifest,
} from "../image/manifest.js";
import { type LocalSource, formatLocalSource } from "../image/source.js";
import { TarError, readTar } from "../image/tar.js";

export interface LocalImage extends ImageIdentity {
  /** The source as skopeo takes it. */
  skopeoName: string;
}

export class SourceError extends Error {}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

export async function readLocalImage(source: LocalSource, cwd = process.cwd()): Promise<LocalImage> {
  const resolved = path.resolve(cwd, source.path);
  if (source.transport === "docker-archive") {
    const config = await dockerArchiveConfig(resolved);
    // A docker-archive has no manifest digest: skopeo writes (and compresses) one on push.
    return {
      digest: null,
      configs: new Map([["", config]]),
      skopeoName: formatLocalSource(source, resolved),
    };
  }
  return readOciLayout(resolved, source);
}

// --- docker-archive --------------------------------------------------------------------------------

/** `docker save`'s manifest.json: one entry per image. */
const archiveManifestSchema = z.array(z.object({ Config: z.string() }));

/** Small JSON entries (manifest.json, configs) are kept; layers only pass through the tar reader. */
const MAX_JSON_ENTRY = 4 << 20;

async function gzipped(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    throw new SourceError(
      `cannot open ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** The archive's small JSON files by path; a multi-GB archive costs one pass and little memory. */
async function smallJsonEntries(file: string): Promise<Map<string, Uint8Array>> {
  const compressed = await gzipped(file);
  const raw = createReadStream(file);
  const stream = compressed ? raw.pipe(createGunzip()) : raw;
  if (stream !== raw) raw.once("error", (error) => stream.destroy(error));
  const entries = new Map<string, Uint8Array>();
  try {
    const keep = (name: string, size: number) => name.endsWith(".json") && size < MAX_JSON_ENTRY;
    for await (const entry of readTar(stream as AsyncIterable<Uint8Array>, { keep })) {
      if (entry.content) entries.set(entry.path, entry.content);
    }
  } catch (error) {
    if (error instanceof TarError) {
      throw new SourceError(`${file} is not a docker-archive (not a tar: ${error.message})`);
    }
    throw new SourceError(`cannot read ${file}: ${(error as Error).message}`);
  } finally {
    stream.destroy();
    raw.destroy();
  }
  return entries;
}

async function dockerArchiveConfig(file: string): Promise<string> {
  const entries = await smallJsonEntries(file);
  const manifestBytes = entries.get("manifest.json");
  if (!manifestBytes) throw new SourceError(`${file} is not a docker-archive (no manifest.json)`);
  const manifest = parseJson(manifestBytes, archiveManifestSchema);
  if (!manifest.ok) {
    throw new SourceError(
      `${file}: manifest.json ${manifest.json ? `is not a docker save manifest (${manifest.error})` : "is not JSON"}`,
    );
  }
  if (manifest.value.length === 0) throw new SourceError(`${file}: manifest.json lists no image`);
  if (manifest.value.length > 1) {
    throw new SourceError(
      `${file} holds ${manifest.value.length} images; push takes an archive of one image`,
    );
  }
  const configName = manifest.value[0]!.Config;
  const config = entries.get(configName.replace(/^\.\//, ""));
  if (!config) throw new SourceError(`${file}: config ${configName} is missing from the archive`);
  return sha256(config);
}

// --- OCI layout ------------------------------------------------------------------------------------

const layoutIndexSchema = z.object({ manifests: z.array(descriptorSchema).default([]) });

async function readBytes(file: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new SourceError(
      `${what}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}

async function readOciLayout(dir: string, source: LocalSource & { transport: "oci" }): Promise<LocalImage> {
  const indexFile = path.join(dir, "index.json");
  const index = parseJson(await readBytes(indexFile, `${dir} is not an OCI layout`), layoutIndexSchema);
  if (!index.ok) {
    throw new SourceError(
      `${dir} is not an OCI layout: ${indexFile} ${index.json ? index.error : "is not JSON"}`,
    );
  }
  const manifests = index.value.manifests;
  const refName = (d: (typeof manifests)[number]) => d.annotations?.["org.opencontainers.image.ref.name"];
  let chosen = manifests[0];
  if (source.tag !== null) {
    chosen = manifests.find((d) => refName(d) === source.tag);
    if (!chosen) {
      const names = manifests.map(refName).filter(Boolean);
      throw new SourceError(
        `${dir} has no image tagged "${source.tag}" (tags: ${names.join(", ") || "none"})`,
      );
    }
  } else if (manifests.length !== 1) {
    throw new SourceError(`${dir} holds ${manifests.length} images: name one as oci:${dir}:TAG`);
  }
  const blob = async (digest: string, what: string, mediaType?: string): Promise<ParsedManifest> => {
    const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
    if (!m) throw new SourceError(`${dir}: ${what} has an unsupported digest ${digest}`);
    const bytes = await readBytes(path.join(dir, "blobs", "sha256", m[1]!), `${dir}: ${what}`);
    if (sha256(bytes) !== digest) throw new SourceError(`${dir}: blob ${digest} does not match its content`);
    try {
      return parseManifest(bytes, mediaType);
    } catch (error) {
      throw new SourceError(`${dir}: ${what} ${digest} ${(error as Error).message}`);
    }
  };
  const top = chosen!;
  const parsed = await blob(top.digest, "manifest", top.mediaType);
  const configs = await configDigests(parsed, (digest, platform) => blob(digest, `manifest for ${platform}`));
  return { digest: top.digest, configs, skopeoName: formatLocalSource(source, dir) };
}

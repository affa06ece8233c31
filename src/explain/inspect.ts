// The I/O half of "why did it move?": fetch both manifests (per platform for indexes), both configs,
// and, for the layers that differ only, stream their blobs through gunzip and the tar reader within a
// byte budget. Everything it finds goes to the pure diff functions.
import { Readable, type Transform } from "node:stream";
import zlib, { createGunzip } from "node:zlib";
import { parseImageRef, repositoryOf } from "../image/reference.js";
import type { BlobStream, Manifest } from "../registry/index.js";
import { RegistryError } from "../registry/errors.js";
import {
  type Descriptor,
  type ImageConfig,
  imageConfigSchema,
  parseJson,
  parseManifest,
  platformManifests,
} from "../image/manifest.js";
import { diffConfigs, diffEntries, pairLayers, platformOf, reorderedLayers } from "./diff.js";
import { findingsOf } from "./findings.js";
import { readTar } from "../image/tar.js";
import type { Explanation, LayerChange, LayerRef, PlatformExplanation, TarEntry } from "./types.js";

/** What explaining needs of a registry client (createRegistryClient's client has both). */
export interface ExplainRegistry {
  manifest(ref: string): Promise<Manifest>;
  blob(ref: string, digest: string): Promise<BlobStream>;
}

export interface ExplainOptions {
  /** Compressed bytes of changed layers read in all (both images, all platforms); default 256 MiB. */
  maxBytes?: number;
  /** Uncompressed bytes read per layer; default 1 GiB (a gzip bomb stops here). */
  maxLayerBytes?: number;
}

/** The port the deploy pipeline takes (DeployOptions.explainer). */
export interface Explainer {
  explain(a: string, b: string): Promise<Explanation>;
}

export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MiB = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1024 / 1024).toFixed(1)} MiB`;

type Parsed = ReturnType<typeof parseManifest>;

function parse(ref: string, m: Manifest): Parsed {
  try {
    return parseManifest(m.body, m.mediaType);
  } catch (error) {
    throw new RegistryError(ref, `manifest ${m.digest} ${(error as Error).message}`);
  }
}

/** The same repository at a digest (child manifests and blobs live in the ref's repository). */
export function atDigest(ref: string, digest: string): string {
  const parsed = parseImageRef(ref.trim());
  if (!parsed) throw new RegistryError(ref, "not a valid image reference");
  return `${repositoryOf(parsed)}@${digest}`;
}

async function readAll(stream: ReadableStream<Uint8Array>, max: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) {
      await stream.cancel().catch(() => {});
      throw new Error(`${what} is larger than ${MiB(max)}`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface Image {
  ref: string;
  manifest: Manifest;
  layers: Descriptor[];
  config: ImageConfig;
  configDigest: string;
}

async function loadImage(registry: ExplainRegistry, ref: string, m: Manifest): Promise<Image> {
  const parsed = parse(ref, m);
  if (parsed.kind !== "image") throw new RegistryError(ref, `manifest ${m.digest} is an index, not an image`);
  const digest = parsed.image.config.digest;
  const blob = await registry.blob(ref, digest);
  const bytes = await readAll(blob.stream, MAX_CONFIG_BYTES, `config ${digest}`);
  const config = parseJson(bytes, imageConfigSchema);
  if (!config.ok) {
    throw new RegistryError(
      ref,
      `config ${digest} ${config.json ? `is not an image config (${config.error})` : "is not JSON"}`,
    );
  }
  return { ref, manifest: m, layers: parsed.image.layers, config: config.value, configDigest: digest };
}

/** Platform → child manifest digest of an index (the shared walk: attestations left out). */
function platforms(parsed: Parsed): Map<string, string> {
  if (parsed.kind !== "index") return new Map();
  return new Map([...platformManifests(parsed.index)].map(([key, d]) => [key, d.digest]));
}

// zlib has zstd from Node 22.15 / 23.8; on older Nodes such layers are named, not read.
const createZstdDecompress = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;

type Decoder = "gzip" | "zstd" | "none" | { unsupported: string };
function decoderFor(mediaType: string | undefined): Decoder {
  const type = mediaType ?? "";
  if (type.endsWith("gzip")) return "gzip";
  if (type.endsWith(".tar") || type === "application/vnd.oci.image.layer.v1.tar") return "none";
  if (type.includes("zstd")) {
    return createZstdDecompress
      ? "zstd"
      : { unsupported: `zstd-compressed layer: not inspected (Node ${process.version} has no zstd)` };
  }
  if (type.includes("nondistributable") || type.includes("foreign")) {
    return { unsupported: "foreign (non-distributable) layer: not inspected" };
  }
  return { unsupported: `layer media type ${type || "(none)"}: not inspected` };
}

/** Reads one layer's entries; the blob is read to its end so its digest gets checked. */
async function layerEntries(
  registry: ExplainRegistry,
  ref: string,
  layer: Descriptor | undefined,
  maxLayerBytes: number,
): Promise<TarEntry[]> {
  // diff_ids and layers disagree in length: the config names a layer the manifest does not have.
  if (!layer) throw new Error("the manifest lists no blob for this layer");
  const decoder = decoderFor(layer.mediaType);
  if (typeof decoder === "object") throw new Error(decoder.unsupported);
  const blob = await registry.blob(ref, layer.digest);
  // A registry must not send more than the manifest announced.
  const declared = layer.size ?? Number.POSITIVE_INFINITY;
  let seen = 0;
  const bounded = blob.stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > declared)
          controller.error(new Error(`blob is larger than the ${declared} bytes announced`));
        else controller.enqueue(chunk);
      },
    }),
  );
  const raw = Readable.fromWeb(bounded as import("node:stream/web").ReadableStream<Uint8Array>);
  const source: Readable =
    decoder === "gzip"
      ? raw.pipe(createGunzip())
      : decoder === "zstd"
        ? raw.pipe(createZstdDecompress!())
        : raw;
  if (source !== raw) raw.once("error", (error) => source.destroy(error));
  const entries: TarEntry[] = [];
  try {
    const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    // readTar stops at the end-of-archive blocks; the rest is drained below through the same iterator.
    const shared: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({ next: () => iterator.next() }),
    };
    for await (const entry of readTar(shared, { maxBytes: maxLayerBytes })) entries.push(entry);
    let rest = 0;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      rest += next.value.length;
      if (rest > maxLayerBytes)
        throw new Error(`more than ${MiB(maxLayerBytes)} after the end of the archive`);
    }
    return entries;
  } finally {
    source.destroy();
    raw.destroy();
  }
}

function layerRef(image: Image, index: number): LayerRef {
  const d = image.layers[index];
  return {
    index,
    diffId: image.config.rootfs?.diff_ids?.[index] ?? "",
    digest: d?.digest ?? "",
    size: d?.size ?? 0,
  };
}

const message = (error: unknown) =>
  error instanceof RegistryError ? error.detail : error instanceof Error ? error.message : String(error);

/** Layers both images have (same diff_id) whose compressed blobs differ. */
function recompressed(a: Image, b: Image): Array<{ diffId: string; a: string; b: string }> {
  const blobs = (image: Image) => {
    const ids = image.config.rootfs?.diff_ids ?? [];
    return new Map(ids.map((id, i) => [id, image.layers[i]?.digest ?? ""]));
  };
  const inB = blobs(b);
  return [...blobs(a)]
    .filter(([id, digest]) => inB.has(id) && inB.get(id) !== digest)
    .map(([diffId, digest]) => ({ diffId, a: digest, b: inB.get(diffId)! }));
}

async function comparePlatform(
  registry: ExplainRegistry,
  platform: string,
  a: Image,
  b: Image,
  budget: { left: number; max: number },
  maxLayerBytes: number,
): Promise<PlatformExplanation> {
  const idsA = a.config.rootfs?.diff_ids ?? [];
  const idsB = b.config.rootfs?.diff_ids ?? [];
  const { shared, pairs } = pairLayers(idsA, idsB);
  const changes: LayerChange[] = [];
  for (const [ia, ib] of pairs) {
    const change: LayerChange = {
      a: ia === null ? null : layerRef(a, ia),
      b: ib === null ? null : layerRef(b, ib),
    };
    changes.push(change);
    const cost = (change.a?.size ?? 0) + (change.b?.size ?? 0);
    if (cost > budget.left) {
      change.note = `too large: not inspected (${MiB(cost)} compressed, ${MiB(budget.left)} of the ${MiB(budget.max)} budget left)`;
      continue;
    }
    budget.left -= cost;
    try {
      const [ea, eb] = await Promise.all([
        ia === null ? [] : layerEntries(registry, a.ref, a.layers[ia], maxLayerBytes),
        ib === null ? [] : layerEntries(registry, b.ref, b.layers[ib], maxLayerBytes),
      ]);
      const diff = diffEntries(ea, eb);
      change.files = diff.changes;
      change.unchangedFiles = diff.unchanged;
      if (ia !== null && ib !== null) change.entryOrder = diff.order;
    } catch (error) {
      const text = message(error);
      change.note = text.includes("not inspected") ? text : `not inspected: ${text}`;
    }
  }
  const explained = {
    platform,
    manifests: { a: a.manifest.digest, b: b.manifest.digest },
    configs: { a: a.configDigest, b: b.configDigest },
    config: diffConfigs(a.config, b.config),
    layers: {
      shared,
      changes,
      recompressed: recompressed(a, b),
      reordered: reorderedLayers(idsA, idsB),
    },
  };
  return { ...explained, findings: findingsOf(explained) };
}

/** Explains how the image B differs from A (B is the newer one in the bot's use). */
export async function explainImages(
  registry: ExplainRegistry,
  refA: string,
  refB: string,
  options: ExplainOptions = {},
): Promise<Explanation> {
  const [ma, mb] = await Promise.all([registry.manifest(refA), registry.manifest(refB)]);
  const explanation: Explanation = {
    a: { ref: refA, digest: ma.digest },
    b: { ref: refB, digest: mb.digest },
    identical: ma.digest === mb.digest,
    platformsOnlyInA: [],
    platformsOnlyInB: [],
    platforms: [],
    notes: [],
  };
  if (explanation.identical) return explanation;
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const budget = { left: max, max };
  const maxLayerBytes = options.maxLayerBytes ?? 1024 * 1024 * 1024;

  const pa = parse(refA, ma);
  const pb = parse(refB, mb);
  const indexA = pa.kind === "index";
  const indexB = pb.kind === "index";
  const child = async (ref: string, digest: string) => {
    const childRef = atDigest(ref, digest);
    return loadImage(registry, childRef, await registry.manifest(childRef));
  };

  let pairs: Array<[string, () => Promise<Image>, () => Promise<Image>]> = [];
  if (!indexA && !indexB) {
    pairs = [["", () => loadImage(registry, refA, ma), () => loadImage(registry, refB, mb)]];
  } else if (indexA && indexB) {
    const la = platforms(pa);
    const lb = platforms(pb);
    explanation.platformsOnlyInA = [...la.keys()].filter((k) => !lb.has(k)).sort();
    explanation.platformsOnlyInB = [...lb.keys()].filter((k) => !la.has(k)).sort();
    for (const key of [...la.keys()].filter((k) => lb.has(k)).sort()) {
      pairs.push([key, () => child(refA, la.get(key)!), () => child(refB, lb.get(key)!)]);
    }
  } else {
    // One index, one image: compare the image with the index's child of the same platform.
    const single = await loadImage(registry, indexA ? refB : refA, indexA ? mb : ma);
    const key = platformOf(single.config);
    const list = platforms(indexA ? pa : pb);
    const others = [...list.keys()].filter((k) => k !== key).sort();
    if (indexA) explanation.platformsOnlyInA = others;
    else explanation.platformsOnlyInB = others;
    explanation.notes.push(
      `${indexA ? "A" : "B"} is a multi-platform index, the other a single ${key} image`,
    );
    const digest = list.get(key);
    if (digest === undefined) {
      if (indexA) explanation.platformsOnlyInB = [key];
      else explanation.platformsOnlyInA = [key];
    } else {
      const other = () => child(indexA ? refA : refB, digest);
      pairs.push(indexA ? [key, other, async () => single] : [key, async () => single, other]);
    }
  }
  for (const [key, loadA, loadB] of pairs) {
    const [a, b] = await Promise.all([loadA(), loadB()]);
    explanation.platforms.push(await comparePlatform(registry, key, a, b, budget, maxLayerBytes));
  }
  return explanation;
}

export function createExplainer(registry: ExplainRegistry, options: ExplainOptions = {}): Explainer {
  return { explain: (a, b) => explainImages(registry, a, b, options) };
}

// The one streaming tar reader (image layers, docker-archives): ustar headers with checksums, pax
// extended headers (path, linkpath, size, mtime, uid, gid, uname, gname) and GNU long names. Content is
// hashed as it passes and kept only for the entries the caller asks for, so a layer of any size needs
// memory for one chunk only.
import { createHash } from "node:crypto";

/** A tar entry as the diff needs it: header fields and the sha256 of its content (no content kept). */
export interface TarEntry {
  /** Normalised path: no leading "./" or "/", no trailing "/". */
  path: string;
  /** "file", "dir", "symlink", "hardlink", "char", "block", "fifo", or the raw type flag. */
  type: string;
  /** Permission bits (and setuid/setgid/sticky). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch (pax may give fractions). */
  mtime: number;
  size: number;
  /** Target of a link, else "". */
  linkname: string;
  /** "sha256:…" of the content (regular files; "" for the others). */
  sha256: string;
  /** The content, for the entries ReadTarOptions.keep selected. */
  content?: Uint8Array;
}

export class TarError extends Error {}

/** Pulls exact byte counts out of a chunked stream. */
class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  /** Bytes handed out so far (the uncompressed size read). */
  consumed = 0;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** False at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      const next = await this.source.next();
      if (next.done) return false;
      this.chunk = next.value;
      this.offset = 0;
    }
    return true;
  }

  /** Exactly n bytes, or null when the stream ends before the first byte; a partial read is an error. */
  async read(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.fill())) {
        if (filled === 0) return null;
        throw new TarError(`truncated archive: wanted ${n} bytes, got ${filled}`);
      }
      const take = Math.min(n - filled, this.chunk.length - this.offset);
      out.set(this.chunk.subarray(this.offset, this.offset + take), filled);
      this.offset += take;
      filled += take;
    }
    this.consumed += n;
    return out;
  }

  /** Passes n bytes to `sink` in the chunks they arrive in. */
  async pass(n: number, sink: (bytes: Uint8Array) => void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw new TarError(`truncated archive: ${left} bytes of content missing`);
      const take = Math.min(left, this.chunk.length - this.offset);
      sink(this.chunk.subarray(this.offset, this.offset + take));
      this.offset += take;
      left -= take;
    }
    this.consumed += n;
  }
}

const TYPES: Record<string, string> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

function text(header: Uint8Array, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return utf8.decode(end < 0 ? field : field.subarray(0, end));
}

/** An octal field, or GNU base-256 (high bit of the first byte set) for values that do not fit. */
function numeric(header: Uint8Array, start: number, length: number, what: string): number {
  const field = header.subarray(start, start + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const raw = latin1.decode(field).replace(/\0.*$/s, "").trim();
  if (raw === "") return 0;
  if (!/^[0-7]+$/.test(raw)) throw new TarError(`bad ${what} field ${JSON.stringify(raw)}`);
  return parseInt(raw, 8);
}

function checksumOk(header: Uint8Array): boolean {
  const stored = numeric(header, 148, 8, "checksum");
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum === stored;
}

/** "<len> key=value\n" records. */
export function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const length = Number(latin1.decode(data.subarray(pos, space)));
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) {
      throw new TarError("bad pax extended header record");
    }
    const record = utf8.decode(data.subarray(space + 1, pos + length - 1)); // drop the trailing "\n"
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return out;
}

export function normalizePath(p: string): string {
  let out = p;
  while (out.startsWith("./")) out = out.slice(2);
  out = out.replace(/^\/+/, "").replace(/\/+$/, "");
  return out === "" || out === "." ? "." : out;
}

const padding = (n: number) => (512 - (n % 512)) % 512;
const MAX_META = 1 << 20; // a pax or GNU long-name header larger than this is not a real one

export interface ReadTarOptions {
  /** Stop with a TarError when more uncompressed bytes than this pass (a gzip bomb, or just too big). */
  maxBytes?: number;
  /** Regular files whose content to keep in the entry (small ones: manifest.json, configs). */
  keep?: (path: string, size: number) => boolean;
}

/** The entries of a tar stream, in archive order (pax and GNU meta headers applied, not listed). */
export async function* readTar(
  source: AsyncIterable<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry> {
  const reader = new ChunkReader(source[Symbol.asyncIterator]());
  const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const budget = () => {
    if (reader.consumed > max) throw new TarError(`more than ${max} bytes uncompressed`);
  };
  let global = new Map<string, string>();
  let local = new Map<string, string>();
  let longName: string | null = null;
  let longLink: string | null = null;
  while (true) {
    const header = await reader.read(512);
    if (header === null) return; // no end-of-archive blocks: accepted, as GNU tar does
    if (header.every((b) => b === 0)) return; // end of archive
    if (!checksumOk(header)) throw new TarError(`bad header checksum at byte ${reader.consumed - 512}`);
    const flag = String.fromCharCode(header[156]!);
    const pax = new Map([...global, ...local]);
    const size = pax.has("size") ? Number(pax.get("size")) : numeric(header, 124, 12, "size");
    if (!Number.isSafeInteger(size) || size < 0) throw new TarError(`bad entry size ${size}`);

    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > MAX_META) throw new TarError(`a ${flag} meta header of ${size} bytes`);
      const data = size > 0 ? await reader.read(size) : new Uint8Array(0);
      if (data === null) throw new TarError("truncated archive in a meta header");
      await reader.read(padding(size));
      budget();
      if (flag === "x") local = parsePax(data);
      else if (flag === "g") global = new Map([...global, ...parsePax(data)]);
      else {
        const value = utf8.decode(data).replace(/\0+$/, "");
        if (flag === "L") longName = value;
        else longLink = value;
      }
      continue;
    }

    const magic = latin1.decode(header.subarray(257, 262));
    const prefix = magic === "ustar" ? text(header, 345, 155) : "";
    const name =
      longName ?? pax.get("path") ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    const type = TYPES[flag] ?? (flag === "" ? "file" : `type ${JSON.stringify(flag)}`);
    const hash = createHash("sha256");
    const hasData = type === "file";
    const path = normalizePath(name);
    const kept: Uint8Array[] | null = hasData && options.keep?.(path, size) ? [] : null;
    if (size > 0) {
      await reader.pass(size, (bytes) => {
        if (!hasData) return;
        hash.update(bytes);
        // The reader reuses nothing, but a slice keeps the entry independent of the source's chunks.
        kept?.push(bytes.slice());
      });
    }
    await reader.read(padding(size));
    budget();
    const num = (key: string, fallback: number) => {
      const v = pax.get(key);
      const n = v === undefined ? NaN : Number(v);
      return Number.isFinite(n) ? n : fallback;
    };
    yield {
      path,
      type,
      mode: numeric(header, 100, 8, "mode") & 0o7777,
      uid: num("uid", numeric(header, 108, 8, "uid")),
      gid: num("gid", numeric(header, 116, 8, "gid")),
      uname: pax.get("uname") ?? text(header, 265, 32),
      gname: pax.get("gname") ?? text(header, 297, 32),
      mtime: num("mtime", numeric(header, 136, 12, "mtime")),
      size: hasData ? size : 0,
      linkname: longLink ?? pax.get("linkpath") ?? text(header, 157, 100),
      sha256: hasData ? `sha256:${hash.digest("hex")}` : "",
      ...(kept ? { content: Buffer.concat(kept) } : {}),
    };
    local = new Map();
    longName = longLink = null;
  }
}

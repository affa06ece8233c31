// Streaming a blob (config, layer) with its bytes checked against the digest as they pass: the stream
// errors at its end when they do not match, so a reader that reaches the end has verified bytes.
import { createHash } from "node:crypto";
import { RegistryError } from "./errors.js";
import type { Session } from "./session.js";
import { resolveTarget, validDigest } from "./target.js";

export interface BlobStream {
  /** Content-Length as announced, if any. */
  size: number | null;
  stream: ReadableStream<Uint8Array>;
}

export async function blob(
  session: Session,
  text: string,
  digest: string,
  opts: { timeoutMs?: number } = {},
): Promise<BlobStream> {
  const target = resolveTarget(text);
  if (!validDigest(digest)) throw new RegistryError(text, `"${digest}" is not a valid blob digest`);
  const path = `blobs/${digest}`;
  const res = await session.send(target, {
    method: "GET",
    path,
    actions: session.readActions,
    stream: true,
    timeoutMs: opts.timeoutMs ?? 600_000,
  });
  if (res.status !== 200 || !res.stream) {
    if (res.status === 404) {
      throw new RegistryError(text, `blob ${digest} not found in ${target.host}/${target.repository}`, {
        status: 404,
      });
    }
    throw session.fail(target, { method: "GET", path }, res);
  }
  const length = Number(res.headers.get("content-length"));
  return {
    size: Number.isFinite(length) && res.headers.has("content-length") ? length : null,
    stream: res.stream.pipeThrough(verifying(text, digest)),
  };
}

function verifying(text: string, digest: string): TransformStream<Uint8Array, Uint8Array> {
  const algorithm = digest.split(":")[0]!;
  const hash = createHash(algorithm);
  return new TransformStream<Uint8Array, Uint8Array>({
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
}

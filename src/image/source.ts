// Where an image comes from: a local archive skopeo can read (`docker-archive:PATH`, `oci:DIR[:TAG]`) or
// an image reference already in a registry. One grammar for `push SOURCE` and `--images` values. Pure.
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { parseImageRef } from "./reference.js";

/** An image on disk, as skopeo names it. */
export type LocalSource =
  { transport: "docker-archive"; path: string } | { transport: "oci"; path: string; tag: string | null };

/** A local image or a registry reference with a tag or a digest (`docker://` dropped). */
export type ImageSource = LocalSource | { transport: "docker"; ref: string };

export const SOURCE_FORMS = "docker-archive:PATH, oci:DIR or an image reference with a tag or digest";
export const LOCAL_SOURCE_FORMS = "docker-archive:PATH or oci:DIR[:tag]";

/** `docker-archive:PATH` or `oci:DIR[:TAG]`; null when it is neither or a part is empty. */
export function parseLocalSource(text: string): LocalSource | null {
  if (text.startsWith("docker-archive:")) {
    const file = text.slice("docker-archive:".length);
    return file ? { transport: "docker-archive", path: file } : null;
  }
  if (text.startsWith("oci:")) {
    const rest = text.slice("oci:".length);
    // As containers/image splits it: the directory ends at the first colon, so it cannot hold one,
    // and `oci::x` (no directory) or `oci:dir:` (empty tag) name nothing.
    const colon = rest.indexOf(":");
    const dir = colon >= 0 ? rest.slice(0, colon) : rest;
    const tag = colon >= 0 ? rest.slice(colon + 1) : null;
    if (!dir || tag === "") return null;
    return { transport: "oci", path: dir, tag };
  }
  return null;
}

/** A local source, or a reference that names one image (a tag or a digest; `docker://` dropped). */
export function parseImageSource(text: string): ImageSource | null {
  if (/^(docker-archive|oci):/.test(text)) return parseLocalSource(text);
  const ref = parseImageRef(text);
  if (ref === null || (ref.tag === null && ref.digest === null)) return null;
  return { transport: "docker", ref: text.replace(/^docker:\/\//, "") };
}

/** The source as skopeo takes it, with its path replaced (e.g. made absolute). */
export function formatLocalSource(source: LocalSource, path = source.path): string {
  if (source.transport === "docker-archive") return `docker-archive:${path}`;
  return `oci:${path}${source.tag !== null ? `:${source.tag}` : ""}`;
}

/** The `--images` file: `{"service": SOURCE}`; what each value may be is checked per entry below. */
const imagesMapSchema = z.record(z.string(), z.string());

/**
 * Reads an `--images` file's text: service → source, local paths made absolute against `baseDir`
 * (the file's own directory). The error names the entry and what it should be.
 */
export function parseImagesMap(
  text: string,
  baseDir: string,
): { ok: true; sources: Record<string, string> } | { ok: false; error: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not valid JSON (${(error as Error).message})` };
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return {
      ok: false,
      error: `must be a JSON object of {"service": "docker-archive:PATH" | "oci:DIR" | "image:tag"}`,
    };
  }
  const checked = imagesMapSchema.safeParse(data);
  if (!checked.success) {
    const name = String(checked.error.issues[0]!.path[0]);
    const value = (data as Record<string, unknown>)[name];
    return { ok: false, error: `"${name}" must be a string, got ${JSON.stringify(value)}` };
  }
  const sources: Record<string, string> = {};
  for (const [name, value] of Object.entries(checked.data)) {
    const source = parseImageSource(value);
    if (source === null) {
      return { ok: false, error: `"${name}": ${JSON.stringify(value)} is not ${SOURCE_FORMS}` };
    }
    sources[name] =
      source.transport === "docker" || isAbsolute(source.path)
        ? value
        : formatLocalSource(source, resolve(baseDir, source.path));
  }
  return { ok: true, sources };
}

// A reference as the HTTP API addresses it (host, repository path, tag or digest), and the checks on
// digests and tags every operation shares.
import { createHash } from "node:crypto";
import { type ImageRef, canonicalRepository, parseImageRef, repositoryOf } from "../image/reference.js";
import { RegistryError } from "./errors.js";
import { apiHost } from "./http.js";

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

/** The same repository at a digest, as written (child manifests and blobs live in the ref's repository). */
export function atDigest(text: string, digest: string): string {
  return `${repositoryOf(resolveTarget(text).ref)}@${digest}`;
}

const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;

export function digestOf(bytes: Uint8Array, algorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/** A digest this client can verify (sha256 or sha512 with the right length). */
export function validDigest(value: string | null | undefined): value is string {
  const m = value ? DIGEST_RE.exec(value) : null;
  return m !== null && m[2]!.length === (m[1] === "sha256" ? 64 : 128);
}

/** A reference by digest rather than by tag. */
export const isDigest = (reference: string) => reference.includes(":");

const TAG_RE = /^[\w][\w.-]{0,127}$/;
export const isValidTag = (tag: string) => TAG_RE.test(tag);

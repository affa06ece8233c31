// Container image references per the distribution/reference grammar, plus podman's `docker://`
// transport prefix (kept on output because podman needs it). Pure: no I/O.

export interface ImageRef {
  /** podman's prefix, kept on output */
  transport: "" | "docker://";
  /** "ghcr.io", "localhost:5000", "127.0.0.1:5000", "[::1]:5000"; null when not written */
  domain: string | null;
  /** "acme/banana", "redis", "library/redis" */
  path: string;
  tag: string | null;
  /** "sha256:<hex>" */
  digest: string | null;
}

const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|-+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const DIGEST_RE = new RegExp(`^${DIGEST}$`);

// Registered algorithms have a fixed hex length and lowercase hex (opencontainers/go-digest).
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/**
 * docker's splitDockerDomain rule: the first component is a registry only if it looks like a host.
 * (docker also counts an uppercase component as a host; such a name is rejected as a repository anyway.)
 */
function looksLikeDomain(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

/** Parses `[docker://][domain/]path[:tag][@digest]`; null when it is not a valid reference. */
export function parseImageRef(text: string): ImageRef | null {
  let rest = text;
  let transport: ImageRef["transport"] = "";
  if (rest.startsWith("docker://")) {
    transport = "docker://";
    rest = rest.slice("docker://".length);
  }
  // Any other scheme (http://, oci:, ...) is not an image reference: "://" cannot occur in one.
  if (rest.includes("://") || rest.length === 0) return null;

  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) return null;
    const [algorithm, hex] = digest.split(":") as [string, string];
    const want = DIGEST_HEX_LENGTH[algorithm];
    if (want !== undefined && (hex.length !== want || /[A-F]/.test(hex))) return null;
  }

  let domain: string | null = null;
  const slash = rest.indexOf("/");
  if (slash >= 0 && looksLikeDomain(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
    if (!DOMAIN_RE.test(domain)) return null;
  }

  // The tag is after the last colon, which can no longer be a port (the domain is gone).
  let tag: string | null = null;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) return null;
  }

  if (!PATH_RE.test(rest)) return null;
  const name = domain === null ? rest : `${domain}/${rest}`;
  if (name.length > 255) return null;
  return { transport, domain, path: rest, tag, digest };
}

/** Inverse of parseImageRef. */
export function formatImageRef(ref: ImageRef): string {
  let out = ref.transport + repositoryOf(ref);
  if (ref.tag !== null) out += `:${ref.tag}`;
  if (ref.digest !== null) out += `@${ref.digest}`;
  return out;
}

/**
 * `[domain/]path` as one regular expression from the same parts, for JSON Schema consumers (editors).
 * It is looser than isRepositoryName (which also applies docker's rule for telling a domain).
 */
export const REPOSITORY_PATTERN = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);

/** A repository name alone: `[domain/]path`, no transport, tag or digest (config `image`, `registry`). */
export function isRepositoryName(text: string): boolean {
  const ref = parseImageRef(text);
  return ref !== null && ref.transport === "" && ref.tag === null && ref.digest === null;
}

/** domain/path as written, without transport, tag or digest. */
export function repositoryOf(ref: ImageRef): string {
  return ref.domain === null ? ref.path : `${ref.domain}/${ref.path}`;
}

/**
 * Docker Hub normalisation, for matching only: "redis" -> "docker.io/library/redis",
 * "index.docker.io/x/y" -> "docker.io/x/y". A `docker://` prefix, tag or digest is dropped.
 * Anything that does not parse is returned unchanged, so it can only equal itself.
 */
export function canonicalRepository(repository: string): string {
  const ref = parseImageRef(repository);
  if (ref === null) return repository;
  let domain = ref.domain ?? "docker.io";
  if (domain === "index.docker.io" || domain === "registry-1.docker.io") domain = "docker.io";
  // Host names are case-insensitive; paths are not (they are lowercase by grammar anyway).
  domain = domain.toLowerCase();
  const path = domain === "docker.io" && !ref.path.includes("/") ? `library/${ref.path}` : ref.path;
  return `${domain}/${path}`;
}

/** True when both name the same repository after Docker Hub normalisation. */
export function sameRepository(a: string, b: string): boolean {
  return canonicalRepository(a) === canonicalRepository(b);
}

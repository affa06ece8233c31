// Everything that moves blobs goes through skopeo (execa, argument array). Credentials reach it only
// through pipes (never a file, argv, the environment or logs); transient failures are retried by the
// shared policy (retry.ts). Before a push the local config digest(s) are compared with the deployed
// manifest's: unchanged means no push at all, because skopeo on a cold cache re-uploads every layer.
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { type LocalImage, SourceError, readLocalImage } from "./archive.js";
import { loadCredentials } from "./credentials.js";
import { MissingChildError, RegistryError } from "./errors.js";
import { type RegistryClient, type RegistryOptions, createRegistryClient, resolveTarget } from "./client.js";
import { insecureHostsFromEnv, usesPlainHttp } from "./http.js";
import { nextRetry, retryPolicy } from "./retry.js";
import { repositoryOf, sameRepository } from "../image/reference.js";
import { type ImageIdentity, sameImage } from "../image/manifest.js";
import { LOCAL_SOURCE_FORMS, parseLocalSource } from "../image/source.js";
import { makeTempDir } from "../temp-dirs.js";

export interface PushOptions extends RegistryOptions {
  /** A client to reuse (its auth/token cache); by default one is made from the same options. */
  client?: RegistryClient;
  /** skopeo binary (default "skopeo" from PATH). */
  skopeo?: string;
  /** Resolves relative source paths (default process.cwd()). */
  cwd?: string;
  /** Push even when the registry already has the same image. */
  force?: boolean;
  /**
   * The reference running now (e.g. the pinned repo@sha256:…), when the push goes to a new tag: if it
   * is the same image, that image gets the tag (GET + PUT of its manifest) and nothing is uploaded.
   */
  deployed?: string;
}

export interface PushResult {
  /** The digest the registry serves for ref after this call. */
  digest: string;
  pushed: boolean;
  /** Why it was (not) pushed. */
  reason: string;
}

/** Pushes SOURCE (docker-archive:PATH, oci:DIR[:tag]) to a tag, unless the registry has the same image. */
export async function pushImage(source: string, ref: string, options: PushOptions = {}): Promise<PushResult> {
  const parsedSource = parseLocalSource(source);
  if (!parsedSource)
    throw new RegistryError(ref, `unsupported source "${source}": use ${LOCAL_SOURCE_FORMS}`);
  const target = resolveTarget(ref);
  if (target.ref.digest !== null || target.ref.tag === null) {
    throw new RegistryError(ref, "push needs a tag to push to (repo:tag), not a digest");
  }
  let local: LocalImage;
  try {
    local = await readLocalImage(parsedSource, options.cwd);
  } catch (error) {
    if (error instanceof SourceError) throw new RegistryError(ref, error.message);
    throw error;
  }
  const client = options.client ?? createRegistryClient(options);

  if (!options.force && options.deployed) {
    const skipped = await tagDeployedIfSame(client, local, options.deployed, ref);
    if (skipped) return skipped;
  }

  if (!options.force) {
    const deployed = await identityOrNull(client, ref);
    const same = deployed && sameImage(local, deployed);
    if (deployed?.digest && same?.same) {
      const reason =
        same.by === "manifest"
          ? `registry already has ${deployed.digest}`
          : `registry already has the same image (${same.evidence})`;
      return { digest: deployed.digest, pushed: false, reason };
    }
  }

  // Layers of an OCI layout are pushed as they are, so the manifest digest survives; a docker-archive
  // has uncompressed layers that skopeo must compress, so its digest cannot be preserved.
  const digest = await skopeoCopy(
    { source: local.skopeoName, ref, preserveDigests: parsedSource.transport === "oci" },
    options,
  );
  // The digest skopeo wrote must be what the registry now serves for the tag, by the bytes (a GET).
  const served = (await client.prove(ref)).digest;
  if (served !== digest) {
    throw new RegistryError(ref, `skopeo reported ${digest} but the registry serves ${served} for the tag`);
  }
  return { digest, pushed: true, reason: "pushed" };
}

/** When the running image is the same as the local one, gives it the new tag instead of a push. */
async function tagDeployedIfSame(
  client: RegistryClient,
  local: LocalImage,
  deployed: string,
  ref: string,
): Promise<PushResult | null> {
  const running = resolveTarget(deployed);
  const target = resolveTarget(ref);
  if (!sameRepository(repositoryOf(running.ref), repositoryOf(target.ref))) {
    throw new RegistryError(ref, `the deployed image ${deployed} is in another repository`);
  }
  const current = await identityOrNull(client, deployed);
  if (!current?.digest) throw new RegistryError(ref, `the deployed image ${deployed} does not exist`);
  const same = sameImage(local, current);
  if (!same.same) return null;
  const [tagged] = await client.retag(`${repositoryOf(running.ref)}@${current.digest}`, [target.ref.tag!]);
  return {
    digest: current.digest,
    pushed: false,
    reason:
      `same image as ${deployed} (${same.evidence}): ` +
      `tag ${tagged!.status === "exists" ? "already there" : "added"}, nothing uploaded`,
  };
}

/** The image a tag names (digest and configs), or null when the tag does not exist. */
async function identityOrNull(client: RegistryClient, ref: string): Promise<ImageIdentity | null> {
  try {
    return await client.identity(ref);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return null;
    throw error;
  }
}

interface SkopeoCopy {
  /** skopeo source name: docker-archive:…, oci:…, docker://… */
  source: string;
  /** Registry host of a docker:// source, for its credential and TLS choice. */
  sourceHost?: string;
  ref: string;
  preserveDigests: boolean;
}

/**
 * Runs skopeo copy, retrying transient failures by the same policy as the HTTP client's requests
 * (skopeo's own retries are off: they would wait in real time, outside the bounds). A retry is cheap:
 * blobs already uploaded are found by skopeo's HEAD and not sent again.
 */
async function skopeoCopy(copy: SkopeoCopy, options: PushOptions): Promise<string> {
  const policy = retryPolicy(options);
  for (let attempt = 1; ; attempt++) {
    const outcome = await skopeoCopyOnce(copy, options);
    if (outcome.ok) return outcome.digest;
    const next = outcome.transient ? nextRetry(policy, attempt) : { retry: false as const, gaveUp: "" };
    if (!next.retry) throw new RegistryError(copy.ref, `skopeo copy failed: ${outcome.reason}${next.gaveUp}`);
    await policy.sleep(next.delayMs);
  }
}

// What skopeo prints for failures worth another attempt: 429 and 5xx answers, and connections that
// broke or timed out. Refusals (401, 403, 404, invalid manifests) are not retried.
const TRANSIENT =
  /\b(?:429|5\d\d) (?:\(|Too Many|Internal|Bad Gateway|Service Unavailable|Gateway)|HTTP status: (?:429|5\d\d)\b|toomanyrequests|connection reset|closed network connection|broken pipe|unexpected EOF|\bEOF\b|i\/o timeout|timeout exceeded|TLS handshake timeout|connection refused/i;

type CopyOutcome = { ok: true; digest: string } | { ok: false; transient: boolean; reason: string };

// Credentials reach skopeo through here-documents on file descriptors 3 (source) and 4 (destination),
// which /bin/sh feeds from the JSON it reads on stdin: no auth file is ever written (nothing to leak
// if the process is killed) and nothing secret appears in argv or the environment.
const WITH_AUTH_FDS =
  'IFS= read -r src; IFS= read -r dest\nexec "$0" "$@" 3<<SRC 4<<DEST\n$src\nSRC\n$dest\nDEST\n';

async function skopeoCopyOnce(copy: SkopeoCopy, options: PushOptions): Promise<CopyOutcome> {
  const env = options.env ?? process.env;
  const { ref } = copy;
  const destHost = resolveTarget(ref).ref.domain ?? "docker.io";
  const insecure = insecureHostsFromEnv(env);
  const dir = await makeTempDir("skopeo");
  try {
    const digestFile = path.join(dir, "digest");
    const args = ["copy", "--all", "--retry-times", "0", "--digestfile", digestFile];
    if (copy.preserveDigests) args.push("--preserve-digests");
    if (usesPlainHttp(destHost, insecure)) args.push("--dest-tls-verify=false");
    if (copy.sourceHost && usesPlainHttp(copy.sourceHost, insecure)) args.push("--src-tls-verify=false");

    let credentials;
    try {
      credentials = loadCredentials(env);
    } catch (error) {
      throw new RegistryError(ref, (error as Error).message);
    }
    const authJson = (host: string | undefined) => {
      const credential = host ? credentials.forHost(host) : null;
      if (!credential) return null;
      const auth = Buffer.from(`${credential.username}:${credential.password}`).toString("base64");
      return JSON.stringify({ auths: { [host!]: { auth } } });
    };
    const src = authJson(copy.sourceHost);
    const dest = authJson(destHost);
    if (src) args.push("--src-authfile", "/dev/fd/3");
    if (dest) args.push("--dest-authfile", "/dev/fd/4");
    args.push(copy.source, `docker://${ref.replace(/^docker:\/\//, "")}`);
    const result = await execa("/bin/sh", ["-c", WITH_AUTH_FDS, options.skopeo ?? "skopeo", ...args], {
      reject: false,
      env: skopeoEnv(env),
      extendEnv: false,
      input: `${src ?? "{}"}\n${dest ?? "{}"}\n`,
      timeout: 30 * 60_000,
    });
    if (result.failed) {
      const output = (result.stderr || result.stdout || "").trim();
      const reason =
        output.split("\n").slice(-3).join(" ").slice(0, 500) || (result.shortMessage ?? "skopeo failed");
      return { ok: false, transient: TRANSIENT.test(output), reason };
    }
    const digest = (await readFile(digestFile, "utf8")).trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new RegistryError(ref, `skopeo wrote no digest (${digest})`);
    return { ok: true, digest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CopyResult {
  digest: string;
  copied: boolean;
}

/**
 * Copies an image (all platforms, digests preserved) to another repository or registry with skopeo;
 * nothing is copied when the destination tag already serves the same digest.
 */
export async function copyImage(source: string, ref: string, options: PushOptions = {}): Promise<CopyResult> {
  const from = resolveTarget(source);
  const to = resolveTarget(ref);
  if (to.ref.digest !== null || to.ref.tag === null) {
    throw new RegistryError(ref, "copy needs a tag to copy to (repo:tag), not a digest");
  }
  const client = options.client ?? createRegistryClient(options);
  const digest = await client.digest(source);
  const existing = await client.digest(ref).catch((error: unknown) => {
    // Absent, or an index that lost a platform there: copying (again) is what repairs it.
    if (error instanceof MissingChildError) return null;
    if (error instanceof RegistryError && error.status === 404) return null;
    throw error;
  });
  if (existing === digest) return { digest, copied: false };
  const copied = await skopeoCopy(
    {
      source: `docker://${source.replace(/^docker:\/\//, "")}`,
      sourceHost: from.ref.domain ?? "docker.io",
      ref,
      preserveDigests: true,
    },
    options,
  );
  if (copied !== digest) {
    throw new RegistryError(ref, `skopeo copied ${source} as ${copied}, expected ${digest}`);
  }
  const served = await client.digest(ref);
  if (served !== digest) throw new RegistryError(ref, `copied ${digest} but the registry serves ${served}`);
  return { digest, copied: true };
}

/** What skopeo needs from the environment: the same auth-file locations the client used, and PATH. */
function skopeoEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const pick = [
    "HOME",
    "XDG_RUNTIME_DIR",
    "REGISTRY_AUTH_FILE",
    "DOCKER_CONFIG",
    "TMPDIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
  ];
  for (const key of pick) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  out.PATH = env.PATH ?? process.env.PATH ?? "/usr/bin:/bin";
  return out;
}

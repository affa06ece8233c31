// Step 2, resolve: what the build produced for each service. By tag: the digest of `image:tag` (looked
// up while scanning). With `--images`: an image reference in the service's repository, or a local
// archive compared with the deployed image without uploading, and pushed on apply only when it moved.
import { parseImageRef, repositoryOf, sameRepository } from "../image/reference.js";
import { parseImageSource } from "../image/source.js";
import { mapLimit } from "./concurrency.js";
import { proveMove } from "./moved.js";
import type { DiscoveredService, Discovery, FileError } from "./discovery.js";
import { type ResolvedImage, pinnedState } from "./plan.js";
import type { DeployOptions, ProgressEvent, RegistryAction } from "./ports.js";
import type { TagLookups } from "./scan.js";
import { MissingChildError } from "../registry/errors.js";
import { redact } from "../secrets/redact.js";

const isNotFound = (error: unknown) => (error as { status?: unknown }).status === 404;
// Error texts become plan reasons, PR bodies and check runs: never with a secret a server echoed back.
export const errorMessage = (error: unknown) =>
  redact(error instanceof Error ? error.message : String(error));

/** What resolving one service needs; `actions` collects the pushes it did (apply). */
export interface ResolveContext {
  options: Pick<DeployOptions, "config" | "registry" | "images" | "mode">;
  /** The rendered build tag. */
  tag: string;
  lookups: TagLookups;
  actions: RegistryAction[];
  progress: (event: ProgressEvent) => void;
  /** Told of each service as soon as it is resolved (provenance checks start on it). */
  onResolved?: (service: DiscoveredService, resolved: ResolvedImage) => void;
}

export interface Resolved {
  resolved: Record<string, ResolvedImage>;
  /** `--images` entries no service in the job files has. */
  unknownSources: FileError[];
}

export async function resolveServices(
  ctx: ResolveContext,
  discovery: Discovery,
  limit: number,
): Promise<Resolved> {
  const resolved: Record<string, ResolvedImage> = {};
  await mapLimit(discovery.services, limit, async (service) => {
    if (service.sites.length === 0) return;
    ctx.progress({ kind: "service", service: service.name, step: "resolve", done: false });
    const r = await resolveService(ctx, service);
    resolved[service.name] = r;
    ctx.onResolved?.(service, r);
    // Why a service failed is the plan's to say (its table row): progress says only that it did.
    const detail = r.status === "built" ? (r.digest ?? "digest known after push") : r.status;
    ctx.progress({ kind: "service", service: service.name, step: "resolve", done: true, detail });
  });
  const names = new Set(discovery.services.map((s) => s.name));
  const unknownSources = Object.keys(ctx.options.images?.sources ?? {})
    .filter((name) => !names.has(name))
    .map((name) => ({ file: "--images", line: null, error: `no service named "${name}" in the job files` }));
  return { resolved, unknownSources };
}

export async function resolveService(
  ctx: ResolveContext,
  service: DiscoveredService,
): Promise<ResolvedImage> {
  const sources = ctx.options.images?.sources ?? {};
  const source = sources[service.name];
  if (source !== undefined) return resolveSource(ctx, service, source);
  // With an --images map, a service left out of it was not built by this build.
  if (Object.keys(sources).length > 0) return { status: "not-built", reason: "not in the --images map" };
  const ref = `${service.image}:${ctx.tag}`;
  let claimed: string;
  try {
    claimed = await (ctx.lookups.get(ref) ?? ctx.options.registry.digest(ref));
  } catch (error) {
    // Only the build tag's own absence means "not built"; a 404 met after it was found (a platform
    // manifest of its index, the pinned image) is a broken image, said as such.
    if (error instanceof MissingChildError)
      return { status: "error", reason: missingChild(ctx, service, error) };
    return isNotFound(error)
      ? { status: "not-built", reason: `${ref} is not in the registry` }
      : { status: "error", reason: errorMessage(error) };
  }
  try {
    return await provenImage(ctx, service, ref, claimed, { tag: ctx.tag, source: ref });
  } catch (error) {
    return { status: "error", reason: errorMessage(error) };
  }
}

/** The build tag names an index one of whose platforms is gone; when that index is the pin, say so. */
function missingChild(ctx: ResolveContext, service: DiscoveredService, error: MissingChildError): string {
  const { index, platform, digest } = error.missing;
  if (index !== pinnedState(ctx.options.config, service).digest) return errorMessage(error);
  return redact(
    `the pinned image ${service.image}@${index} (also the build tag ${error.ref}) lists ${digest} for ` +
      `${platform}, which the registry no longer has: the cluster cannot pull it on ${platform}; ` +
      `push that platform again or rebuild`,
  );
}

async function resolveSource(
  ctx: ResolveContext,
  service: DiscoveredService,
  source: string,
): Promise<ResolvedImage> {
  const parsed = parseImageSource(source);
  if (parsed === null)
    return { status: "error", reason: `--images: cannot read "${source}" as an image source` };
  try {
    return parsed.transport === "docker"
      ? await resolveRef(ctx, service, parsed.ref, source)
      : await resolveArchive(ctx, service, source);
  } catch (error) {
    return { status: "error", reason: errorMessage(error) };
  }
}

async function resolveRef(
  ctx: ResolveContext,
  service: DiscoveredService,
  text: string,
  source: string,
): Promise<ResolvedImage> {
  const ref = parseImageRef(text)!;
  if (!sameRepository(repositoryOf(ref), service.image)) {
    // A pin must name a digest that exists in the service's own repository; copying between
    // repositories is the build's job (skopeo copy --all --preserve-digests), not a deploy's.
    return {
      status: "error",
      reason: `--images: ${text} is not in ${service.image}; push it there or give an archive`,
    };
  }
  const claimed = await ctx.options.registry.digest(text);
  // "image:tag" names its own tag; a digest-only ref gets the build tag, created on apply.
  const next = ref.tag ? { tag: ref.tag, source } : { tag: ctx.tag, source, tagged: false };
  return provenImage(ctx, service, text, claimed, next);
}

/**
 * The built image from a registry's claim: a claim equal to the pin writes nothing and is taken as is
 * (1 HEAD); any other digest is proven by bytes first and may turn out a re-encoding of the pin.
 */
async function provenImage(
  ctx: ResolveContext,
  service: DiscoveredService,
  ref: string,
  claimed: string,
  next: { tag: string; source: string; tagged?: boolean },
): Promise<ResolvedImage> {
  const { config, registry } = ctx.options;
  const pinned = pinnedState(config, service);
  // With mixed pins the claim is written into the other sites: it must be proven too.
  if (claimed === pinned.digest && !pinned.mixed) return { status: "built", digest: claimed, ...next };
  const outcome = await proveMove(registry, {
    image: service.image,
    ref,
    claimed,
    pinned: pinned.digest,
    compare: config.compare,
  });
  if (outcome.kind === "moved") {
    return {
      status: "built",
      digest: outcome.digest,
      ...next,
      ...(outcome.note ? { note: outcome.note } : {}),
      ...(outcome.pinGone ? { pinGone: true as const } : {}),
    };
  }
  // The pinned image gets the build tag and the retag tags (apply), so the tag names what runs.
  const reencoded = { digest: outcome.digest, reason: outcome.reason };
  return {
    status: "built",
    digest: outcome.pinned,
    tag: next.tag,
    source: next.source,
    tagged: false,
    reencoded,
  };
}

async function resolveArchive(
  ctx: ResolveContext,
  service: DiscoveredService,
  source: string,
): Promise<ResolvedImage> {
  const { options, tag } = ctx;
  const port = options.images!.port;
  const target = `${service.image}:${tag}`;
  const deployed = pinnedState(options.config, service).digest;
  if (deployed !== null) {
    const same = await port.sameImage(source, `${service.image}@${deployed}`);
    if (same.same) {
      if (options.mode === "apply") {
        ctx.actions.push({
          service: service.name,
          action: "push",
          ref: target,
          result: "skipped",
          detail: same.reason,
        });
      }
      // Not pushed: the build tag does not exist yet, so retagging must create it.
      return { status: "built", digest: deployed, tag, source, tagged: false };
    }
  }
  // Plan reads the archive (a missing or truncated one is this service's error) and shows the digest
  // it will have when the archive fixes it; a docker-archive's is only known after skopeo compresses it.
  if (options.mode === "plan")
    return { status: "built", digest: await port.localDigest(source), tag, source };
  ctx.progress({ kind: "service", service: service.name, step: "push", done: false });
  const pushed = await port.push(source, target);
  ctx.actions.push({
    service: service.name,
    action: "push",
    ref: target,
    result: pushed.pushed ? "pushed" : "skipped",
  });
  ctx.progress({
    kind: "service",
    service: service.name,
    step: "push",
    done: true,
    detail: pushed.pushed ? "pushed" : "already there",
  });
  return { status: "built", digest: pushed.digest, tag, source };
}

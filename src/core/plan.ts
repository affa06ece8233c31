// The decision of one deploy run, as a pure function of what the job files pin and what the build
// produced: per service moved / unchanged / new / not-built / error / stale. No I/O here.
import type { Config } from "../config/schema.js";
import type {
  ConfigProblem,
  DiscoveredService,
  Discovery,
  FileError,
  ServiceSite,
  UnknownSite,
} from "./discovery.js";
import type { ExplainOutcome } from "../explain/types.js";
import type { PinRecords } from "./pin-records.js";
import { type BuildInfo, commitFromTag, renderTag, shortSha } from "./templates.js";
import type { Verdict } from "../provenance/index.js";
import type { Agreement } from "./builders.js";

export type ServiceStatus =
  "moved" | "unchanged" | "new" | "not-built" | "error" | "stale" | "unverified" | "awaiting";
export const STATUSES: readonly ServiceStatus[] = [
  "moved",
  "new",
  "unchanged",
  "not-built",
  "stale",
  "unverified",
  "awaiting",
  "error",
];

/** What the build produced for one service, found by the caller (registry tag lookup or --images). */
export type ResolvedImage =
  | {
      status: "built";
      /** Manifest/index digest; null when only a push would tell (an archive in plan mode). */
      digest: string | null;
      /** Tag the new pin carries. */
      tag: string;
      /** Where the digest came from ("repo:tag" or an --images source). */
      source: string;
      /** False when "image:tag" may not exist yet (digest-only ref): apply then creates the tag. */
      tagged?: boolean;
      /** The build's new digest holds the pinned image's content: `digest` is the pin, kept. */
      reencoded?: Reencoded;
      /** A remark on a move (e.g. why a re-encoding could not keep the pin). */
      note?: string;
      /** The old pin's manifest is no longer in the registry (nothing to compare or explain against). */
      pinGone?: true;
    }
  | { status: "not-built"; reason: string }
  | { status: "error"; reason: string };

/** A new digest with the same content as the pin (same config per platform): not redeployed. */
export interface Reencoded {
  /** The digest the build's tag named. */
  digest: string;
  /** What proved it the same (the "same image?" decision's words). */
  reason: string;
}

/** Where the build commit stands relative to another commit (GitHub compare's status, head = build). */
export type Relation = "identical" | "ahead" | "behind" | "diverged" | "unknown";

export interface PlanInput {
  config: Config;
  build: BuildInfo;
  discovery: Discovery;
  /** By service name; a missing entry is an error for that service. */
  resolved: Readonly<Record<string, ResolvedImage>>;
  /** By the commit an old pin records (see deployedCommits): the never-downgrade check. */
  ancestry?: Readonly<Record<string, Relation>>;
  /** Builds that digest-only pins were made from, found in the history (see pin-records.ts). */
  records?: PinRecords;
}

export interface PinnedState {
  digest: string | null;
  tag: string | null;
  /**
   * The commit the old pin records: its tag (tag template with {sha}/{short_sha}), or for a digest-only
   * pin the build named by the deploy commit that wrote it; else null.
   */
  commit: string | null;
  /** Why a digest-only pin records no commit (its history was searched), when that is known. */
  unrecorded?: string;
  /** True when the service's sites pin different digests. */
  mixed: boolean;
}

export interface ServicePlan {
  name: string;
  image: string;
  status: ServiceStatus;
  /** Why: not built, error, stale; or a remark on a move (a rebuild of the same commit). */
  reason?: string;
  old: PinnedState;
  next: { digest: string | null; tag: string; source: string; tagged: boolean } | null;
  /** Job files with an editable site of this service (the ones a move rewrites). */
  files: string[];
  sites: ServiceSite[];
  unmanaged: ServiceSite[];
  /** Tags to add to the deployed image (unchanged services only). */
  retag: string[];
  paths: string[];
  /** Unchanged only: the build produced another digest of the same content; the pin is kept. */
  reencoded?: Reencoded;
  /** Moved only: the old pin's manifest is no longer in the registry. */
  pinGone?: true;
  /** A move no commit explains (non-reproducible build): how the two images differ (DeployOptions.explainer). */
  explanation?: ExplainOutcome;
  /** Moved or new with `provenance` required: the attestation verdict (unverified: not pinned). */
  provenance?: Verdict;
  /** Moved or new with `provenance.builders`: how many independent builders agree on the digest. */
  agreement?: Agreement;
}

export interface Plan {
  build: BuildInfo;
  /** The tag the build pushed (rendered build.tag). */
  tag: string;
  services: ServicePlan[];
  fileErrors: FileError[];
  unknownSites: UnknownSite[];
  /** Config keys that select nothing: the run cannot be trusted to be complete. */
  configProblems: ConfigProblem[];
  counts: Record<ServiceStatus, number>;
}

/** The old pin of a service: the digest most sites agree on (first in file order on a tie). */
export function pinnedState(
  config: Config,
  service: DiscoveredService,
  records: PinRecords = {},
): PinnedState {
  const digests = new Map<string, number>();
  for (const s of service.sites) if (s.digest) digests.set(s.digest, (digests.get(s.digest) ?? 0) + 1);
  let digest: string | null = null;
  let best = 0;
  for (const [d, n] of digests) if (n > best) [digest, best] = [d, n];
  const site = service.sites.find((s) => s.digest === digest) ?? service.sites[0];
  const tag = site?.tag ?? null;
  const mixed = digests.size > 1 || (digests.size === 1 && service.sites.some((s) => s.digest === null));
  const record = records[service.name];
  const fromTag = commitFromTag(config.build.tag, tag);
  if (fromTag || !record) return { digest, tag, commit: fromTag, mixed };
  return "build" in record
    ? { digest, tag, commit: record.build, mixed }
    : { digest, tag, commit: null, mixed, unrecorded: record.unknown };
}

/** The distinct commits old pins record: the caller asks its repository how the build relates to each. */
export function deployedCommits(config: Config, discovery: Discovery, records: PinRecords = {}): string[] {
  const commits = new Set<string>();
  for (const s of discovery.services) {
    const c = pinnedState(config, s, records).commit;
    if (c) commits.add(c);
  }
  return [...commits].sort();
}

export function plan(input: PlanInput): Plan {
  const { config, build, discovery } = input;
  const tag = renderTag(config.build.tag, build);
  const retagTags = [...new Set(config.retag.map((t) => renderTag(t, build)))];
  const services = discovery.services.map((service): ServicePlan => {
    const old = pinnedState(config, service, input.records);
    const base: ServicePlan = {
      name: service.name,
      image: service.image,
      status: "error",
      old,
      next: null,
      files: [...new Set(service.sites.map((s) => s.file))],
      sites: service.sites,
      unmanaged: service.unmanaged,
      retag: [],
      paths: service.paths,
    };
    if (service.sites.length === 0) {
      const why = service.unmanaged[0];
      base.reason = why
        ? `only in sites the engine cannot edit: ${why.file}:${why.line}: ${why.reason}${why.hint ? `; to pin it: ${why.hint}` : ""}`
        : `${serviceKey(config, service.name)}.image: no job file uses ${service.image}${unevaluated(discovery)}`;
      return base;
    }
    const resolved = input.resolved[service.name];
    if (resolved === undefined) return { ...base, reason: "no image was resolved for this service" };
    if (resolved.status !== "built") return { ...base, status: resolved.status, reason: resolved.reason };
    const next = {
      digest: resolved.digest,
      tag: resolved.tag,
      source: resolved.source,
      tagged: resolved.tagged ?? true,
    };
    if (next.digest !== null && service.sites.every((s) => s.digest === next.digest)) {
      // A tag-resolved build tag was just read at this digest: adding it again would be a wasted
      // request. An image that was not pushed (unchanged archive) still needs its build tag.
      const retag = next.tagged
        ? retagTags.filter((t) => t !== next.tag)
        : [...new Set([next.tag, ...retagTags])];
      return {
        ...base,
        status: "unchanged",
        next,
        retag,
        ...(resolved.reencoded ? { reencoded: resolved.reencoded } : {}),
      };
    }
    if (service.unmanaged.length > 0) {
      // All or nothing: pinning the editable sites while others keep the old image half-deploys it.
      const where = service.unmanaged.map((u) => `${u.file}:${u.line} (${u.reason})`).join(", ");
      return {
        ...base,
        next,
        reason: `not pinned: ${service.unmanaged.length === 1 ? "a site" : "sites"} the engine cannot edit also use${service.unmanaged.length === 1 ? "s" : ""} ${service.image}: ${where}; ${hints(service.unmanaged) ?? `make ${service.unmanaged.length === 1 ? "it a literal" : "them literals"} or pin by hand`}`,
      };
    }
    if (old.digest === null) return { ...base, status: "new", next };
    const relation = old.commit ? (input.ancestry?.[old.commit] ?? "unknown") : "unknown";
    if (relation === "behind" || relation === "diverged") {
      return {
        ...base,
        status: "stale",
        next,
        reason: `build ${shortSha(build.sha)} is ${relation === "behind" ? "older than" : "not a descendant of"} the deployed ${shortSha(old.commit!)}: not downgrading`,
      };
    }
    const moved: ServicePlan = { ...base, status: "moved", next };
    if (resolved.pinGone) moved.pinGone = true;
    if (resolved.note) moved.reason = resolved.note;
    else if (relation === "identical") {
      moved.reason = "same commit as the deployed image but another digest: the build is not reproducible";
    }
    return moved;
  });
  return {
    build,
    tag,
    services,
    fileErrors: discovery.fileErrors,
    unknownSites: discovery.unknownSites,
    configProblems: discovery.configProblems,
    counts: countStatuses(services),
  };
}

/** What would make the unmanaged sites pinnable, each hint once. */
function hints(sites: readonly ServiceSite[]): string | null {
  const all = [...new Set(sites.flatMap((s) => (s.hint ? [s.hint] : [])))];
  return all.length > 0 ? `to pin ${sites.length === 1 ? "it" : "them"}: ${all.join("; ")}` : null;
}

function unevaluated(discovery: Discovery): string {
  const first = discovery.unknownSites[0];
  if (!first) return "";
  const n = discovery.unknownSites.length;
  return ` (${n} image expression${n === 1 ? "" : "s"} could not be evaluated, e.g. ${first.file}:${first.line}: ${first.reason})`;
}

const serviceKey = (config: Config, name: string) =>
  `services[${config.services?.findIndex((s) => s.name === name) ?? -1}]`;

/**
 * Whether the plan saw everything it was asked about: no service or file error, nothing unbuilt or
 * skipped, no config key that selects nothing. Only then may "nothing moved" mean "nothing to deploy"
 * (the App closes an open deploy PR on it).
 */
export function planComplete(plan: Plan): boolean {
  return (
    plan.counts.error === 0 &&
    plan.counts["not-built"] === 0 &&
    plan.counts.stale === 0 &&
    plan.counts.unverified === 0 &&
    plan.counts.awaiting === 0 &&
    plan.fileErrors.length === 0 &&
    plan.configProblems.length === 0
  );
}

export function countStatuses(services: readonly ServicePlan[]): Record<ServiceStatus, number> {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<ServiceStatus, number>;
  for (const s of services) counts[s.status] += 1;
  return counts;
}

/** Services whose job files get rewritten. */
export const changing = (p: Plan) => p.services.filter((s) => s.status === "moved" || s.status === "new");

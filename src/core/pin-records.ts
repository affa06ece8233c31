// The build commit a digest-only pin was made from. A `repo:tag@sha256:…` pin records it in its tag;
// `repo@sha256:…` (the default: Nomad's Docker driver pulls the tag of a tag+digest pin, not its
// digest) records nothing in the job file. The bot's own deploy commit that wrote the pin does: its
// message lists `- SERVICE: OLD → NEW (files)` with the new digest's first 12 hex digits, and its
// `Nomad-Gitops-Build` trailer names the build. So that commit, found in the history of the files
// the service is pinned in, is where the release notes start and what never-downgrade compares with.
// A pin committed under another message is traced, for a move only, through the registry: the build
// tag of a recent commit of those files (or of its parent) that names the pinned digest.
import type { Config } from "../config/schema.js";
import { mapLimit } from "./concurrency.js";
import type { DiscoveredService, Discovery } from "./discovery.js";
import type { ResolvedImage } from "./plan.js";
import type { RegistryPort, RepoPort } from "./ports.js";
import { BUILD_TRAILER } from "./render.js";
import { type BuildInfo, commitFromTag, renderTag, shortDigest } from "./templates.js";

/** A commit's sha and whole message, as the repository port lists them. */
export interface CommitMessage {
  sha: string;
  message: string;
  /** Its first parent, when the port knows it cheaply (local git). */
  parent?: string;
}

/** Commits of the history whose build tag is asked of the registry when no message records the pin. */
const PROBED = 5;

/** By service name: the build commit each digest-only pin was made from, or why it is not known. */
export type PinRecords = Readonly<Record<string, { build: string } | { unknown: string }>>;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The build named by the newest deploy commit (newest first in `history`) that pinned `service` to
 * `digest`, or null. A message edited so that its line or its trailer is gone counts as no record.
 */
export function buildOfPin(
  history: readonly CommitMessage[],
  service: string,
  digest: string,
): string | null {
  const line = new RegExp(`^- ${escape(service)}: .+? → ${escape(shortDigest(digest))} \\(`, "m");
  const trailer = new RegExp(`^${BUILD_TRAILER}: ([0-9a-f]{40})\\s*$`, "m");
  for (const c of history) {
    if (!line.test(c.message)) continue;
    const build = trailer.exec(c.message)?.[1];
    if (build) return build;
  }
  return null;
}

/** The digest most sites of the service pin, when none of those sites' tags records a commit. */
function unrecordedDigest(config: Config, service: DiscoveredService): string | null {
  const counts = new Map<string, number>();
  for (const s of service.sites) if (s.digest) counts.set(s.digest, (counts.get(s.digest) ?? 0) + 1);
  const digest = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!digest) return null;
  const tagged = service.sites.some((s) => s.digest === digest && commitFromTag(config.build.tag, s.tag));
  return tagged ? null : digest;
}

/**
 * A commit of the newest few that touched the pin's files (or their first parents) whose build tag
 * names the pinned digest in the registry: a pin committed under a message that records nothing (the
 * CLI's edits committed by hand, a squash merge titled by the PR) is still traced to a build. Only a
 * build tag holding the commit can be asked; 404s and other answers just mean "not this one".
 */
async function buildTaggedWith(
  registry: RegistryPort,
  config: Config,
  build: BuildInfo,
  image: string,
  digest: string,
  history: readonly CommitMessage[],
): Promise<string | null> {
  if (!/\{(sha|short_sha)\}/.test(config.build.tag)) return null;
  const candidates = [
    ...new Set(history.slice(0, PROBED).flatMap((c) => (c.parent ? [c.sha, c.parent] : [c.sha]))),
  ];
  for (const sha of candidates) {
    const tag = renderTag(config.build.tag, { sha, branch: build.branch });
    const named = await registry.digest(`${image}:${tag}`).catch(() => null);
    if (named === digest) return sha;
  }
  return null;
}

/**
 * For each service with a digest-only pin, the build it was made from, read from the repository's
 * history: the deploy commit's record, found for every such service in one listing of their files'
 * history; for a service whose build moved (only a move needs the old commit for its release notes
 * and the never-downgrade check), else a build tag of a recent commit naming the digest, or why not.
 */
export async function pinRecords(
  ports: { repo: RepoPort; registry: RegistryPort },
  config: Config,
  build: BuildInfo,
  discovery: Discovery,
  resolved: Readonly<Record<string, ResolvedImage>>,
  limit: number,
): Promise<PinRecords> {
  const { repo, registry } = ports;
  const out: Record<string, { build: string } | { unknown: string }> = {};
  if (!repo.deployCommits) return out;
  const pins = discovery.services.flatMap((service) => {
    const digest = unrecordedDigest(config, service);
    const next = resolved[service.name];
    const moved = next?.status === "built" && next.digest !== digest;
    const files = [...new Set(service.sites.map((s) => s.file))].sort();
    return digest ? [{ service, digest, moved, files }] : [];
  });
  if (pins.length === 0) return out;
  let all: CommitMessage[] = [];
  let failed: string | null = null;
  try {
    all = await repo.deployCommits([...new Set(pins.flatMap((p) => p.files))].sort());
  } catch (error) {
    failed = error instanceof Error ? error.message : String(error);
  }
  await mapLimit(pins, limit, async ({ service, digest, moved, files }) => {
    const recorded = buildOfPin(all, service.name, digest);
    if (recorded) return void (out[service.name] = { build: recorded });
    if (!moved) return;
    const where = files.join(", ");
    if (failed)
      return void (out[service.name] = { unknown: `the history of ${where} could not be read: ${failed}` });
    const history = await repo.deployCommits!(files).catch(() => []);
    const tagged = await buildTaggedWith(registry, config, build, service.image, digest, history);
    out[service.name] = tagged
      ? { build: tagged }
      : {
          unknown: `no deploy commit in the history of ${where} pinned ${shortDigest(digest)}, and no build tag of its last ${PROBED} commits names it`,
        };
  });
  return out;
}

// Monorepos for the scale tests and the App benchmark: a repository in the GitHub API stand-in whose job
// files pin images in the real local registry, and builds of its commits pushed there under `{sha}`.
import { pushTestImage } from "../helpers/oci.js";
import type { TestRegistry } from "../helpers/registry.js";
import type { GitHubStandIn } from "../helpers/github-api/index.js";
import { configText, image, jobFile } from "../app/scenario.js";

export const serviceName = (i: number) => `svc${String(i).padStart(3, "0")}`;

export interface Monorepo {
  fullName: string;
  services: string[];
  /** The build the job files pin. */
  deployed: string;
  /** Image version per service at the last build (1 = as deployed). */
  versions: number[];
  /** Digest per service at the last build. */
  digests: string[];
}

/**
 * `owner/name` with `services` job files pinned to the images of its first commit, and the config (plus
 * `extraConfig`). Images go to `acme/<service>` in the registry, shared by every repository.
 */
export async function createMonorepo(
  api: GitHubStandIn,
  registry: TestRegistry,
  input: { owner?: string; name: string; services: number; extraConfig?: string },
): Promise<Monorepo> {
  const owner = input.owner ?? "acme";
  const fullName = `${owner}/${input.name}`;
  const services = Array.from({ length: input.services }, (_, i) => serviceName(i));
  const { sha: deployed } = api.createRepo({
    owner,
    name: input.name,
    files: { "README.md": `# ${input.name}\n` },
  });
  const digests = await pushBuild(
    registry,
    services,
    deployed,
    services.map(() => 1),
  );
  const files: Record<string, string> = {
    ".github/nomad-gitops.yml": configText(registry.host, services, input.extraConfig ?? ""),
    "RELEASES.md": "# Releases\n",
  };
  services.forEach((s, i) => {
    files[`nomad/${s}.nomad.hcl`] = jobFile(registry.host, s, `${deployed}@${digests[i]}`);
    files[`services/${s}/main.go`] = `package main // ${s} v1\n`;
  });
  api.pushCommit(fullName, "main", files, "Set up nomad-gitops");
  return { fullName, services, deployed, versions: services.map(() => 1), digests };
}

/**
 * A person's commit changing the code of `moved` services (their image version goes up), and its build
 * pushed under the new commit's sha. Returns the commit.
 */
export async function commitAndBuild(
  api: GitHubStandIn,
  registry: TestRegistry,
  repo: Monorepo,
  moved: number[],
): Promise<string> {
  for (const i of moved) repo.versions[i] = repo.versions[i]! + 1;
  const sha = api.pushCommit(
    repo.fullName,
    "main",
    Object.fromEntries(
      moved.map((i) => [`services/${repo.services[i]}/main.go`, `package main // v${repo.versions[i]}\n`]),
    ),
    `change ${moved.map((i) => repo.services[i]).join(", ") || "docs"}`,
  );
  repo.digests = await pushBuild(registry, repo.services, sha, repo.versions);
  return sha;
}

/** Pushes `acme/<service>:<tag>` at each service's version, 8 services at a time; returns the digests. */
async function pushBuild(
  registry: TestRegistry,
  services: string[],
  tag: string,
  versions: number[],
): Promise<string[]> {
  const digests: string[] = [];
  const queue = services.map((s, i) => [s, i] as const);
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const [service, i] = item;
      digests[i] = await pushTestImage(
        registry.directHost,
        `acme/${service}`,
        tag,
        image(service, versions[i]!),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return digests;
}

/** The bot's `nomad-gitops` check run on `sha` once it completed, or null. */
export function completedCheck(api: GitHubStandIn, fullName: string, sha: string) {
  const runs = api.repo(fullName).checkRuns.filter((r) => r.headSha === sha && r.name === "nomad-gitops");
  const last = runs[runs.length - 1];
  return last && last.status === "completed" ? last : null;
}

/**
 * Waits (bounded) until `sha` has the bot's check run in any state: a push's work (it queues that run) is
 * done after the webhook's answer, so a test that wants the push handled first waits for this.
 */
export async function waitForQueued(api: GitHubStandIn, fullName: string, sha: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = api.repo(fullName).checkRuns.find((r) => r.headSha === sha && r.name === "nomad-gitops");
    if (run) return run;
    if (Date.now() > deadline) throw new Error(`no check run on ${fullName}@${sha.slice(0, 7)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits (bounded) until `sha`'s check run is completed. */
export async function waitForCheck(api: GitHubStandIn, fullName: string, sha: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = completedCheck(api, fullName, sha);
    if (done) return done;
    if (Date.now() > deadline) throw new Error(`no completed check run on ${fullName}@${sha.slice(0, 7)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

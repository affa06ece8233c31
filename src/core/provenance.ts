// Step 3b: a moved or new digest is pinned only when an attestation verifies for it (config
// `provenance`). Unchanged services cost nothing: their pin was verified when it moved. A digest that
// fails is not pinned: the service becomes `unverified` with the failing check; the others proceed.
import type { Config } from "../config/schema.js";
// Types only: the engine (sigstore-js, ~0.5 s to load) is imported when a run requires provenance.
import type { ProvenancePolicy, TrustRoot, Verdict } from "../provenance/index.js";
import { ghVerifyCommand } from "../provenance/describe.js";
import { limiter, mapLimit } from "./concurrency.js";
import type { DiscoveredService } from "./discovery.js";
import {
  countStatuses,
  pinnedState,
  plan as makePlan,
  type Plan,
  type Relation,
  type ResolvedImage,
  type ServicePlan,
} from "./plan.js";
import type { RepoPort } from "./ports.js";

/** Where attestations of a digest are found (GitHub's attestations API, OCI referrers in the registry). */
export interface AttestationsPort {
  /** Every Sigstore bundle (parsed JSON) attesting `digest` of `image`; throws when it cannot be asked. */
  bundles(image: string, digest: string): Promise<unknown[]>;
}

export interface ProvenanceOptions {
  port: AttestationsPort;
  /** `owner/name` the images must have been built from. */
  repository: string;
  /** Its numeric id, when the shell knows it (App and Action do). */
  repositoryId?: string;
}

/** The policy for one deploy run: the config's settings, defaulting to its build workflow, branch and commit. */
export function provenancePolicy(
  config: Config,
  build: { sha: string; branch: string },
  options: Pick<ProvenanceOptions, "repository" | "repositoryId">,
): ProvenancePolicy | undefined {
  const p = config.provenance;
  const workflow = p?.workflow ?? config.build.workflow;
  if (!p?.require || workflow === undefined) return undefined;
  return {
    repository: options.repository,
    repositoryId: options.repositoryId,
    workflow,
    signer: p.signer,
    ref: p.ref ?? `refs/heads/${build.branch}`,
    commit: build.sha,
    triggers: p.triggers,
    runner: p.runner,
  };
}

/** The trusted roots: the configured file from the repository (it replaces them), else both roots shipped with the bot (public-good and GitHub's instance). */
async function roots(config: Config, repo: RepoPort): Promise<TrustRoot[]> {
  // The file is read while the engine loads: neither waits for the other.
  const engine = import("../provenance/index.js");
  engine.catch(() => {}); // handled when awaited
  const file = config.provenance?.trusted_root;
  if (file === undefined) return (await engine).trustRoots();
  const text = (await repo.readFiles([file])).get(file);
  if (text === undefined) throw new Error(`provenance.trusted_root: ${file} is not in the repository`);
  if (typeof text !== "string") throw new Error(`provenance.trusted_root: ${file} ${text.unreadable}`);
  return (await engine).trustRoots({ text, where: file });
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The trusted roots, or why there are none (a message for every service that needed them). */
export const trustedRoots = (config: Config, repo: RepoPort): Promise<TrustRoot[] | string> =>
  roots(config, repo).catch(message);

/**
 * The port, asking once per digest however many steps want its bundles: the build's check (3b) and
 * the builders' (3c) look up the same digest when the builders agree.
 */
export function askingOnce(port: AttestationsPort): AttestationsPort {
  const asked = new Map<string, Promise<unknown[]>>();
  return {
    bundles: (image, digest) => {
      const key = `${image}@${digest}`;
      let found = asked.get(key);
      if (found === undefined) asked.set(key, (found = port.bundles(image, digest)));
      return found;
    },
  };
}

function unverified(s: ServicePlan, verdict: Extract<Verdict, { status: "unverified" }>): ServicePlan {
  return { ...s, status: "unverified", reason: `${verdict.check}: ${verdict.reason}`, provenance: verdict };
}

/** What one run checks provenance with; `base` is the deploy's (a build behind it moves nothing). */
export interface ProvenanceRun {
  config: Config;
  build: { sha: string; branch: string };
  repo: RepoPort;
  options: ProvenanceOptions | undefined;
  limit: number;
  /** The run's trusted roots, read once (the builders' step shares them). */
  trusted: () => Promise<TrustRoot[] | string>;
  base?: string;
}

/**
 * One run's provenance checks. Each digest is looked up and verified once, and as early as the plan is
 * sure to move it: step 2 reports every service it resolves, so the 10 moved services of 500 are
 * checked while the other tags are still being read, rather than in a phase after them. Never earlier:
 * a service the plan will not move or add costs no request (nor does any service when nothing moves).
 */
export interface ProvenanceChecks {
  /** Step 2 resolved `service`: when the plan will certainly move or add it, its check starts now. */
  resolved(service: DiscoveredService, resolved: ResolvedImage): void;
  /** A moved or new service, checked: `unverified` unless an attestation verifies (started now if not yet). */
  check(s: ServicePlan): Promise<ServicePlan>;
}

const noDiscovery = { fileErrors: [], unknownSites: [], configProblems: [] };

export function provenanceChecks(run: ProvenanceRun): ProvenanceChecks {
  const { config, build, repo, options } = run;
  const required = config.provenance?.require === true;
  const exempt = new Set(config.provenance?.exempt ?? []);
  const policy = options && provenancePolicy(config, build, options);
  // sigstore-js takes about a second to load in a new process: it starts with the first moving service.
  let engine: Promise<typeof import("../provenance/index.js")> | undefined;
  const load = () => (engine ??= import("../provenance/index.js"));
  const slots = limiter(run.limit);
  // The same question deployedAncestry and skipOlderBuild ask (the App's port answers each once).
  const relations = new Map<string, Promise<Relation>>();
  const relation = (base: string, head: string): Promise<Relation> => {
    const key = `${base}...${head}`;
    let found = relations.get(key);
    if (found === undefined) {
      found = repo.compare
        ? repo.compare(base, head).catch(() => "unknown" as const)
        : Promise.resolve("unknown");
      relations.set(key, found);
    }
    return found;
  };
  // The command that checks the same policy, for people to run themselves (release notes, `plan --json`).
  const command = (image: string, digest: string | null) =>
    policy && digest ? { command: ghVerifyCommand(image, digest, policy) } : {};
  const refusal = (digest: string, image: string, check: string, reason: string) =>
    ({ status: "unverified", digest, check, reason, ...command(image, digest) }) as const;

  const verdicts = new Map<string, Promise<Verdict>>();
  const verdict = (image: string, digest: string, policy: ProvenancePolicy): Promise<Verdict> => {
    const key = `${image}@${digest}`;
    let found = verdicts.get(key);
    if (found === undefined) {
      found = (async (): Promise<Verdict> => {
        // No lookup without a trusted root to judge the answer by.
        const roots = await run.trusted();
        if (typeof roots === "string") return refusal(digest, image, "trusted root", roots);
        try {
          const [{ verifyAttestationsOffThread }, bundles] = await Promise.all([
            load(),
            slots(() => options!.port.bundles(image, digest)),
          ]);
          const verdict = await verifyAttestationsOffThread(bundles, digest, policy, roots);
          return { ...verdict, ...command(image, digest) };
        } catch (err) {
          return refusal(digest, image, "attestations", message(err));
        }
      })();
      verdicts.set(key, found);
    }
    return found;
  };

  /** Whether the plan will move or add `service` at `resolved`: its own decision, on this service alone. */
  const moving = async (service: DiscoveredService, resolved: ResolvedImage) => {
    const old = pinnedState(config, service);
    // A digest-only pin's build is read from the history after step 2: its relation is not known yet.
    if (old.digest !== null && old.commit === null && repo.deployCommits) return false;
    const unknown: Relation = "unknown";
    const [behind, ancestry] = await Promise.all([
      run.base ? relation(run.base, build.sha) : unknown,
      old.commit ? relation(old.commit, build.sha) : unknown,
    ]);
    if (behind === "behind" || behind === "diverged") return false; // skipOlderBuild: nothing moves
    const one = makePlan({
      config,
      build,
      discovery: { services: [service], ...noDiscovery },
      resolved: { [service.name]: resolved },
      ancestry: old.commit ? { [old.commit]: ancestry } : {},
    }).services[0];
    return one?.status === "moved" || one?.status === "new";
  };

  return {
    resolved(service, resolved) {
      if (!required || policy === undefined || exempt.has(service.name)) return;
      if (resolved.status !== "built" || resolved.digest === null) return;
      const digest = resolved.digest;
      if (service.sites.every((s) => s.digest === digest)) return; // unchanged
      void load().catch(() => {}); // a failed load is reported by the check that needs it
      moving(service, resolved)
        .then((yes) => (yes ? verdict(service.image, digest, policy) : undefined))
        .catch(() => {}); // the check repeats whatever failed here, and reports it
    },

    async check(s) {
      const digest = s.next?.digest ?? null;
      if (options === undefined || policy === undefined) {
        const reason = "provenance is required but this run has no way to look attestations up";
        return unverified(s, refusal(digest ?? "", s.image, "attestations", reason));
      }
      const roots = await run.trusted();
      if (typeof roots === "string")
        return unverified(s, refusal(digest ?? "", s.image, "trusted root", roots));
      if (digest === null) {
        const reason = "the digest is known only once the image is pushed: nothing to verify yet";
        return unverified(s, refusal("", s.image, "digest", reason));
      }
      const v = await verdict(s.image, digest, policy);
      return v.status === "verified" ? { ...s, provenance: v } : unverified(s, v);
    },
  };
}

/** Step 3b: every moved or new service that is not exempt, checked; the others as they were. */
export async function checkProvenance(
  config: Config,
  plan: Plan,
  checks: ProvenanceChecks,
  limit: number,
): Promise<Plan> {
  if (!config.provenance?.require) return plan;
  const exempt = new Set(config.provenance.exempt ?? []);
  const due = plan.services.filter(
    (s) => (s.status === "moved" || s.status === "new") && !exempt.has(s.name),
  );
  if (due.length === 0) return plan;
  const checked = new Map<string, ServicePlan>();
  await mapLimit(due, limit, async (s) => void checked.set(s.name, await checks.check(s)));
  const services = plan.services.map((s) => checked.get(s.name) ?? s);
  return { ...plan, services, counts: countStatuses(services) };
}

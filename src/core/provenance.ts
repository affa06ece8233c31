// Step 3b: a moved or new digest is pinned only when an attestation verifies for it (config
// `provenance`). Unchanged services cost nothing: their pin was verified when it moved. A digest that
// fails is not pinned: the service becomes `unverified` with the failing check; the others proceed.
import type { Config } from "../config/schema.js";
// Types only: the engine (sigstore-js, ~0.5 s to load) is imported when a run requires provenance.
import type { ProvenancePolicy, TrustRoot, Verdict } from "../provenance/index.js";
import { ghVerifyCommand } from "../provenance/describe.js";
import { mapLimit } from "./concurrency.js";
import { countStatuses, type Plan, type ServicePlan } from "./plan.js";
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
  const { trustRoots } = await import("../provenance/index.js");
  const file = config.provenance?.trusted_root;
  if (file === undefined) return trustRoots();
  const text = (await repo.readFiles([file])).get(file);
  if (text === undefined) throw new Error(`provenance.trusted_root: ${file} is not in the repository`);
  if (typeof text !== "string") throw new Error(`provenance.trusted_root: ${file} ${text.unreadable}`);
  return trustRoots({ text, where: file });
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

export async function checkProvenance(
  config: Config,
  plan: Plan,
  repo: RepoPort,
  options: ProvenanceOptions | undefined,
  limit: number,
  trusted: () => Promise<TrustRoot[] | string> = () => trustedRoots(config, repo),
): Promise<Plan> {
  const exempt = new Set(config.provenance?.exempt ?? []);
  const due = plan.services.filter(
    (s) => (s.status === "moved" || s.status === "new") && !exempt.has(s.name),
  );
  const policy = options && provenancePolicy(config, plan.build, options);
  if (due.length === 0 || !config.provenance?.require) return plan;
  // The command that checks the same policy, for people to run themselves (release notes, `plan --json`).
  const command = (s: ServicePlan, digest: string | null) =>
    policy && digest ? { command: ghVerifyCommand(s.image, digest, policy) } : {};
  const refuse = (s: ServicePlan, check: string, reason: string) =>
    unverified(s, {
      status: "unverified",
      digest: s.next?.digest ?? "",
      check,
      reason,
      ...command(s, s.next?.digest ?? null),
    });
  const roots = await trusted();
  const { verifyAttestations } = await import("../provenance/index.js");
  const checked = new Map<string, ServicePlan>();
  await mapLimit(due, limit, async (s) => {
    const digest = s.next?.digest ?? null;
    let result: ServicePlan;
    if (options === undefined || policy === undefined) {
      result = refuse(
        s,
        "attestations",
        "provenance is required but this run has no way to look attestations up",
      );
    } else if (typeof roots === "string") {
      result = refuse(s, "trusted root", roots);
    } else if (digest === null) {
      result = refuse(
        s,
        "digest",
        "the digest is known only once the image is pushed: nothing to verify yet",
      );
    } else {
      try {
        const verdict = {
          ...verifyAttestations(await options.port.bundles(s.image, digest), digest, policy, roots),
          ...command(s, digest),
        };
        result = verdict.status === "verified" ? { ...s, provenance: verdict } : unverified(s, verdict);
      } catch (err) {
        result = refuse(s, "attestations", message(err));
      }
    }
    checked.set(s.name, result);
  });
  const services = plan.services.map((s) => checked.get(s.name) ?? s);
  return { ...plan, services, counts: countStatuses(services) };
}

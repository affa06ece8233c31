// Step 3c: independent builders must agree (config `provenance.builders`, k of n). Each moved or new
// digest D is pinned only when at least `agree` builders pushed D under their own tag and attested it
// with their own identity (a workflow's certificate, or a key). A builder that has not pushed yet leaves
// the service `awaiting` at its old pin; a builder that pushed another digest stops the pin, and the
// explainer says how the two images differ. No builders configured, or nothing moving: no request.
import type { Config } from "../config/schema.js";
import type { BuilderConfig } from "../config/provenance.js";
import type { ProvenancePolicy, TrustRoot, Verdict } from "../provenance/index.js";
import { summarizeExplanation } from "../explain/render.js";
import { mapLimit } from "./concurrency.js";
import { countStatuses, type Plan, type ServicePlan } from "./plan.js";
import type { ExplainerPort, RegistryPort, RepoPort } from "./ports.js";
import { type ProvenanceOptions, provenancePolicy } from "./provenance.js";
import { renderTag, shortDigest } from "./templates.js";

/** What one builder said about a service's digest. */
export type BuilderResult =
  | { builder: string; ref: string; outcome: "agrees"; link?: string }
  | { builder: string; ref: string; outcome: "missing" }
  | { builder: string; ref: string; outcome: "disagrees"; digest: string }
  | { builder: string; ref: string; outcome: "unverified" | "unreachable"; reason: string };

/** Per moved service: how many builders agree on its digest, out of how many, and each one's result. */
export interface Agreement {
  agreed: number;
  needed: number;
  of: number;
  /** Listed in `provenance.not_reproducible`: pinned from the main build alone, no builder asked. */
  notReproducible?: true;
  builders: BuilderResult[];
}

/** `2/2 (images, rebuild)`: what plans and comments show. */
export function describeAgreement(a: Agreement): string {
  if (a.notReproducible) return "not reproducible: pinned from the main build alone";
  const names = a.builders.filter((b) => b.outcome === "agrees").map((b) => b.builder);
  return `${a.agreed}/${a.of}${names.length > 0 ? ` (${names.join(", ")})` : ""}`;
}

export interface BuildersInput {
  config: Config;
  repo: RepoPort;
  registry: Pick<RegistryPort, "digest">;
  provenance: ProvenanceOptions | undefined;
  explainer: ExplainerPort | undefined;
  limit: number;
  /** The run's trusted roots (read once, shared with step 3b), or why there are none. */
  trusted: () => Promise<TrustRoot[] | string>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const isNotFound = (err: unknown) => (err as { status?: unknown }).status === 404;

/** The keyless policy of one builder: §1's policy for this build, with the builder's workflow and runner. */
function builderPolicy(base: ProvenancePolicy, b: BuilderConfig, config: Config): ProvenancePolicy {
  return {
    ...base,
    workflow: b.workflow!,
    signer: undefined,
    ref: b.ref ?? config.provenance?.ref ?? base.ref,
    triggers: b.triggers,
    runner: b.runner,
  };
}

/** The public keys of key builders, read from the repository in one go. */
async function publicKeys(config: Config, repo: RepoPort): Promise<Map<string, string | Error>> {
  const paths = config.provenance!.builders.flatMap((b) => (b.key ? [b.key] : []));
  const texts = paths.length > 0 ? await repo.readFiles(paths) : new Map();
  return new Map(
    paths.map((path) => {
      const text = texts.get(path);
      if (text === undefined) return [path, new Error(`${path} is not in the repository`)];
      return [path, typeof text === "string" ? text : new Error(`${path} ${text.unreadable}`)];
    }),
  );
}

export async function checkBuilders(plan: Plan, input: BuildersInput): Promise<Plan> {
  const { config } = input;
  const p = config.provenance;
  if (!p?.require || p.builders.length === 0) return plan;
  const exempt = new Set(p.exempt);
  const due = plan.services.filter(
    (s) => (s.status === "moved" || s.status === "new") && s.next?.digest && !exempt.has(s.name),
  );
  const options = input.provenance;
  const base = options && provenancePolicy(config, plan.build, options);
  // Without an attestation source §1 has already refused every moved digest: nothing is due here.
  if (due.length === 0 || options === undefined || base === undefined) return plan;
  const needed = p.agree ?? p.builders.length;
  const notReproducible = new Set(p.not_reproducible);

  const keys = await publicKeys(config, input.repo);
  const roots = p.builders.some((b) => b.workflow !== undefined) ? await input.trusted() : [];
  const { verifyAttestations, verifyKeySigned } = await import("../provenance/index.js");

  const verify = (b: BuilderConfig, bundles: unknown[], digest: string): Verdict => {
    const fail = (check: string, reason: string): Verdict => ({
      status: "unverified",
      digest,
      check,
      reason,
    });
    if (b.key !== undefined) {
      const pem = keys.get(b.key);
      if (pem instanceof Error || pem === undefined) return fail("key", message(pem));
      return verifyKeySigned(bundles, digest, { pem, where: b.key, hint: b.hint ?? b.name });
    }
    if (typeof roots === "string") return fail("trusted root", roots);
    return verifyAttestations(bundles, digest, builderPolicy(base, b, config), roots);
  };

  const checked = new Map<string, ServicePlan>();
  await mapLimit(due, input.limit, async (s) => {
    const digest = s.next!.digest!;
    if (notReproducible.has(s.name)) {
      const agreement: Agreement = {
        agreed: 0,
        needed,
        of: p.builders.length,
        notReproducible: true,
        builders: [],
      };
      const said = "not reproducible (provenance.not_reproducible): pinned from the main build alone";
      checked.set(s.name, { ...s, agreement, reason: s.reason ? `${s.reason}; ${said}` : said });
      return;
    }
    // One attestation lookup per service: builders that agree all attest the same digest.
    let bundles: Promise<unknown[]> | undefined;
    const results = await Promise.all(
      p.builders.map(async (b): Promise<BuilderResult> => {
        const tag = renderTag(b.tag, plan.build);
        const ref = `${s.image}:${tag}`;
        let found: string;
        try {
          found = tag === plan.tag ? digest : await input.registry.digest(ref);
        } catch (err) {
          if (isNotFound(err)) return { builder: b.name, ref, outcome: "missing" };
          return { builder: b.name, ref, outcome: "unreachable", reason: message(err) };
        }
        if (found !== digest) return { builder: b.name, ref, outcome: "disagrees", digest: found };
        try {
          bundles ??= options.port.bundles(s.image, digest);
          const verdict = verify(b, await bundles, digest);
          if (verdict.status === "verified")
            return {
              builder: b.name,
              ref,
              outcome: "agrees",
              ...(verdict.link ? { link: verdict.link } : {}),
            };
          return {
            builder: b.name,
            ref,
            outcome: "unverified",
            reason: `${verdict.check}: ${verdict.reason}`,
          };
        } catch (err) {
          return { builder: b.name, ref, outcome: "unverified", reason: `attestations: ${message(err)}` };
        }
      }),
    );
    const agreed = results.filter((r) => r.outcome === "agrees").length;
    const agreement: Agreement = { agreed, needed, of: p.builders.length, builders: results };
    checked.set(s.name, await decide(s, agreement, digest, input.explainer));
  });
  const services = plan.services.map((s) => checked.get(s.name) ?? s);
  return { ...plan, services, counts: countStatuses(services) };
}

/** Pin, wait, or refuse, from what the builders said. */
async function decide(
  s: ServicePlan,
  agreement: Agreement,
  digest: string,
  explainer: ExplainerPort | undefined,
): Promise<ServicePlan> {
  const { agreed, needed, of, builders } = agreement;
  const other = builders.find((r) => r.outcome === "disagrees");
  if (other?.outcome === "disagrees") {
    const why = await explainDisagreement(s.image, digest, other.digest, explainer);
    return {
      ...s,
      status: "unverified",
      agreement,
      reason: `builders disagree: ${other.builder} built ${shortDigest(other.digest)}, the build ${shortDigest(digest)}: ${why}`,
    };
  }
  if (agreed >= needed) return { ...s, agreement };
  const missing = builders.filter((r) => r.outcome === "missing");
  const failed = builders.flatMap((r) =>
    r.outcome === "unverified" || r.outcome === "unreachable" ? [`${r.builder}: ${r.reason}`] : [],
  );
  if (agreed + missing.length >= needed && missing.length > 0) {
    const waiting = missing.map(
      (r) => `${r.builder} has not pushed ${r.ref.slice(r.ref.lastIndexOf(":") + 1)}`,
    );
    return {
      ...s,
      status: "awaiting",
      agreement,
      reason: `awaiting builders (${agreed}/${of}, ${needed} needed): ${[...waiting, ...failed].join("; ")}`,
    };
  }
  return {
    ...s,
    status: "unverified",
    agreement,
    reason: `builders: ${agreed} of ${of} agree, ${needed} needed: ${failed.join("; ") || "none verified"}`,
  };
}

/** What the explainer finds between the build's image and a builder's: the likely causes, in one line. */
async function explainDisagreement(
  image: string,
  ours: string,
  theirs: string,
  explainer: ExplainerPort | undefined,
): Promise<string> {
  if (explainer === undefined) return "not explained (this run has no explainer)";
  try {
    const e = await explainer.explain(`${image}@${ours}`, `${image}@${theirs}`);
    const findings = [...new Set(e.platforms.flatMap((p) => (p.findings ?? []).map((f) => f.what)))];
    return findings.length > 0 ? findings.join("; ") : summarizeExplanation(e);
  } catch (err) {
    return `could not be explained (${message(err)})`;
  }
}

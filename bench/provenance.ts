// `provenance`: what requiring provenance costs. The same 500-service repository as the `plan` section
// (10 moved), planned with and without `provenance:`; the attestations are real bundles signed by the test
// Sigstore instance, served by the GitHub API stand-in (GitHub's attestations endpoint, through the
// App's own Octokit) and, for `push-to-registry`, by the real registry under the fallback tag.
// Requests are counted through the registry's recording proxy and the stand-in's log.
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseConfigText } from "../src/config/load.js";
import { type ProvenanceOptions } from "../src/core/provenance.js";
import { runDeploy } from "../src/core/pipeline.js";
import { githubProvenance } from "../src/github/attestations.js";
import { octokitForToken } from "../src/github/octokit.js";
import { trustRoots, verifyAttestations } from "../src/provenance/index.js";
import { type CountingRegistryClient, createRegistryClient } from "../src/registry/index.js";
import { localRepo } from "../src/workspace/repo.js";
import { type GitHubStandIn, startGitHubApi } from "../test/helpers/github-api/index.js";
import { pushTestImage } from "../test/helpers/oci.js";
import { referrerArtifacts } from "../test/helpers/referrers.js";
import { type TestRegistry, startRegistry } from "../test/helpers/registry.js";
import { type TestInstance, signBundle, testInstance } from "../test/helpers/sigstore.js";
import { MOVED, SERVICES, image, makeRepo, name } from "./plan.js";
import type { BenchSection } from "./types.js";

const TOKEN = "ghs_BenchWorkflowToken0123456789abcdef";
const ROOT_FILE = ".github/sigstore-root.json";
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const PAIRS = 7;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const movedDigest = (i: number) => image(`${name(i)} v2`).manifest.digest;

type Repo = Awaited<ReturnType<typeof makeRepo>> & { fullName: string; id: string };

/** A bench repository whose 10 moved digests are attested by a build of its commit. */
async function attestedRepo(
  api: GitHubStandIn,
  instance: TestInstance,
  host: string,
  pushHost: string,
  repoName: string,
): Promise<Repo> {
  const made = await makeRepo(host, pushHost);
  const { repo } = api.createRepo({ owner: "bench", name: repoName, files: {} });
  const fullName = `bench/${repoName}`;
  await writeFile(path.join(made.dir, ROOT_FILE), instance.trustedRoot);
  const workflow = `https://github.com/${fullName}/.github/workflows/images.yml@refs/heads/main`;
  for (let i = 0; i < MOVED; i++) {
    const digest = movedDigest(i);
    const bundle = await signBundle(instance, {
      claims: {
        san: workflow,
        "8": "https://token.actions.githubusercontent.com",
        "9": workflow,
        "11": "github-hosted",
        "12": `https://github.com/${fullName}`,
        "13": made.sha,
        "14": "refs/heads/main",
        "15": String(repo.id),
        "18": workflow,
        "20": "push",
        "21": `https://github.com/${fullName}/actions/runs/1/attempts/1`,
      },
      statement: {
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ name: `${host}/bench/${name(i)}`, digest: { sha256: digest.slice(7) } }],
        predicateType: "https://slsa.dev/provenance/v1",
        predicate: {},
      },
    });
    api.addAttestation(fullName, digest, bundle);
  }
  return { ...made, fullName, id: String(repo.id) };
}

async function plan(
  api: GitHubStandIn,
  repo: Repo,
  host: string,
  required: boolean,
  registry: CountingRegistryClient = createRegistryClient({ env: {} }),
) {
  const config = [
    `registry: ${host}/bench`,
    "build: { workflow: images.yml }",
    ...(required ? [`provenance: { trusted_root: ${ROOT_FILE} }`] : []),
  ].join("\n");
  const loaded = parseConfigText(config);
  if (!loaded.ok) throw new Error("bench config rejected");
  const octokit = octokitForToken(TOKEN, { baseUrl: api.url, repository: repo.fullName });
  const [owner, name] = repo.fullName.split("/") as [string, string];
  const provenance: ProvenanceOptions | undefined = required
    ? githubProvenance(octokit, { owner, repo: name }, repo.id, registry)
    : undefined;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  // When step 2 has every service's digest: what follows is the plan's tail, where provenance used to run.
  let resolving = SERVICES;
  let resolved = start;
  const result = await runDeploy({
    config: loaded.config,
    build: { sha: repo.sha, branch: "main" },
    repo: localRepo(repo.dir),
    registry,
    mode: "plan",
    ...(provenance ? { provenance } : {}),
    onProgress: (event) => {
      if (event.kind === "service" && event.step === "resolve" && event.done && --resolving === 0)
        resolved = process.hrtime.bigint();
    },
  });
  const took = ms(start);
  const tail = took - Number(resolved - start) / 1e6;
  const used = process.cpuUsage(cpu);
  const c = result.plan.counts;
  if (c.moved !== MOVED || c.unchanged !== SERVICES - MOVED || c.unverified !== 0)
    throw new Error(`unexpected plan: ${JSON.stringify(c)}`);
  const verified = result.plan.services.filter((s) => s.provenance?.status === "verified").length;
  if (required && verified !== MOVED) throw new Error(`${verified} verified, expected ${MOVED}`);
  // CPU of this process (both threads): the GitHub stand-in serves its answers here too.
  return { wall: took, cpu: (used.user + used.system) / 1000, tail };
}

/** Artifact manifests of bundles stored in the registry: requests for them are verification's. */
const artifacts = new Set<string>();

/**
 * The requests one plan sends for verification (through the proxy and the stand-in's log; with `client`,
 * one that planned before): GitHub's attestations, the registry's referrers API, fallback tags, artifact
 * manifests and bundle blobs (a plan reads no other blob).
 */
async function counted(
  api: GitHubStandIn,
  registry: TestRegistry,
  repo: Repo,
  required: boolean,
  client?: CountingRegistryClient,
) {
  registry.clearRequests();
  api.clearRequests();
  await plan(api, repo, registry.host, required, client);
  const forVerification = registry
    .requests()
    .filter(
      (r) =>
        r.path.includes("/referrers/") ||
        r.path.includes("/manifests/sha256-") ||
        r.path.includes("/blobs/") ||
        artifacts.has(r.path.split("/manifests/")[1] ?? ""),
    );
  const attestations = api.requests().filter((r) => r.route.includes("/attestations/"));
  const asked = new Set(attestations.map((r) => decodeURIComponent(r.path.split("/").pop()!.split("?")[0]!)));
  const moved = new Set(required ? Array.from({ length: MOVED }, (_, i) => movedDigest(i)) : []);
  if (asked.size !== moved.size || [...asked].some((d) => !moved.has(d)))
    throw new Error(`attestations asked for ${asked.size} digests, expected the ${moved.size} moved ones`);
  return { registry: forVerification.length, github: attestations.length };
}

export async function run(): Promise<BenchSection> {
  const [registry, api, instance] = await Promise.all([
    startRegistry(),
    startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } }),
    testInstance(),
  ]);
  const dirs: string[] = [];
  try {
    const direct = await attestedRepo(api, instance, registry.directHost, registry.directHost, "direct");
    const proxied = await attestedRepo(api, instance, registry.host, registry.directHost, "proxied");
    dirs.push(direct.dir, proxied.dir);

    // Wall time: one warm-up each (wasm parser; the first provenance run also loads sigstore-js, as
    // every CLI run does), then the two alternate in pairs so that load on the machine falls on both alike.
    await plan(api, direct, registry.directHost, false);
    const cold = await plan(api, direct, registry.directHost, true);
    const without: number[] = [];
    const withIt: number[] = [];
    const cpuWithout: number[] = [];
    const cpuWith: number[] = [];
    const pairs: number[] = [];
    const tails = { without: [] as number[], with: [] as number[] };
    for (let i = 0; i < PAIRS; i++) {
      const off = await plan(api, direct, registry.directHost, false);
      const on = await plan(api, direct, registry.directHost, true);
      without.push(off.wall);
      withIt.push(on.wall);
      cpuWithout.push(off.cpu);
      cpuWith.push(on.cpu);
      pairs.push((on.wall - off.wall) / off.wall);
      tails.without.push(off.tail);
      tails.with.push(on.tail);
    }
    const [a, b] = [median(without), median(withIt)];
    const firstRequired = cold.wall;
    // The crypto and policy alone, in process (no I/O): the part of the difference load cannot blur much.
    const roots = trustRoots({ text: instance.trustedRoot, where: ROOT_FILE });
    const verifyRuns: number[] = [];
    for (let r = 0; r < 5; r++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < MOVED; i++) {
        const digest = movedDigest(i);
        const verdict = verifyAttestations(
          api.repo(direct.fullName).attestations.get(digest) ?? [],
          digest,
          {
            repository: direct.fullName,
            repositoryId: direct.id,
            workflow: "images.yml",
            ref: "refs/heads/main",
            commit: direct.sha,
            triggers: ["push"],
            runner: "github-hosted",
          },
          roots,
        );
        if (verdict.status !== "verified")
          throw new Error(`bench bundle not verified: ${JSON.stringify(verdict)}`);
      }
      verifyRuns.push(ms(start));
    }

    const base = await counted(api, registry, proxied, false);
    // The first plan on a host learns it has no referrers API (one 404); later plans of the same client
    // (the App's and the Action's is one per process) go to the fallback tag.
    const client = createRegistryClient({ env: {} });
    const first = await counted(api, registry, proxied, true, client);
    const steady = await counted(api, registry, proxied, true, client);
    // push-to-registry too: each bundle also stored beside its image (an index, an artifact manifest, a blob).
    for (let i = 0; i < MOVED; i++) {
      const bundles = api.repo(proxied.fullName).attestations.get(movedDigest(i)) ?? [];
      const listing = referrerArtifacts(movedDigest(i), bundles);
      for (const a of listing.images) artifacts.add(a.manifest.digest);
      const tag = movedDigest(i).replace(":", "-");
      await pushTestImage(registry.directHost, `bench/${name(i)}`, tag, listing);
    }
    const both = await counted(api, registry, proxied, true, client);
    if (base.github + base.registry !== 0)
      throw new Error("a plan without provenance asked for attestations");
    const per = (n: { registry: number; github: number }) =>
      `${n.github / MOVED} GitHub + ${n.registry / MOVED} registry`;
    const s = (x: number) => (x / 1000).toFixed(2);
    return {
      title: "provenance: 500 services, 10 moved",
      markdown: [
        `The \`plan\` section's repository (${SERVICES} services, ${MOVED} moved) planned without and with \`provenance:\`: each moved`,
        "digest's attestation (a real bundle from the test Sigstore instance, custom trusted root) fetched from the GitHub API",
        "stand-in through the App's Octokit, its registry referrers looked up, verified with sigstore-js. Wall times: one warm-up",
        `each, then ${PAIRS} pairs (without, with) alternating, medians. A moved service's attestations are looked up and verified`,
        "as soon as its digest is resolved and the plan is sure to move it, while the other services' tags are still being read.",
        "",
        `| plan | wall time (median of ${PAIRS}) | CPU time (median) | runs |`,
        "|---|---|---|---|",
        `| without \`provenance:\` | ${s(a)} s | ${s(median(cpuWithout))} s | ${without.map(s).join(" / ")} |`,
        `| with \`provenance:\` required | ${s(b)} s | ${s(median(cpuWith))} s | ${withIt.map(s).join(" / ")} |`,
        "",
        `- provenance adds **${(((b - a) / a) * 100).toFixed(1)}%** (goal: within 10%; medians, warm: sigstore-js already loaded in the process, as in the App and the Action after their first run). Per pair: median ${pct(median(pairs))} (${pairs.map(pct).join(", ")}).`,
        `- after step 2 has every digest (the plan's tail: history, edits, rendering; where provenance ran before it started during step 2), median: ${median(tails.without).toFixed(0)} ms without, ${median(tails.with).toFixed(0)} ms with.`,
        `- the first run in a process also loads sigstore-js, as every CLI run does: ${s(firstRequired)} s, ${pct((firstRequired - a) / a)} over the median without; it starts loading with the first moving service, beside the other lookups.`,
        `- verifying the ${MOVED} bundles alone (sigstore-js and the policy, no I/O, one thread, median of 5): ${median(verifyRuns).toFixed(0)} ms, ${((median(verifyRuns) / a) * 100).toFixed(1)}% of the plan without provenance; besides, ${MOVED} GitHub and ${MOVED} registry requests (the GitHub stand-in answers in this process).`,
        "",
        "Requests per moved service for verification (the same plan without provenance sends none of them; unchanged services: **none**, checked):",
        "",
        "| attestations stored | per moved service |",
        "|---|---|",
        `| GitHub only, first plan on a registry host (one 404 from its referrers API, for the whole host) | ${per(first)} |`,
        `| GitHub only, the host known to have no referrers API (fallback tag: one GET, 404) | ${per(steady)} |`,
        `| GitHub and \`push-to-registry\` (fallback tag index, the artifact manifest, the bundle blob) | ${per(both)} |`,
        "",
        `- goal ≤ 2 per moved service when the attestation is in GitHub: ${per(steady)}. A bundle stored in the registry costs its manifest and its blob on top, as it must be read to be verified.`,
      ].join("\n"),
    };
  } finally {
    await Promise.all([registry.stop(), api.stop()]);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

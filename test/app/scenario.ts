// A monorepo with N services for the App tests: job files pinning images in the real local registry, the
// config, and the GitHub reads of one deploy run mocked from it.
import { type BuiltImage, buildImage, pushTestImage } from "../helpers/oci.js";
import type { TestRegistry } from "../helpers/registry.js";
import { github } from "./harness.js";
import {
  PUSH_KEY,
  R,
  buildKey,
  capture,
  mockBranches,
  mockCheckCreate,
  mockCheckList,
  mockCompare,
  mockConfig,
  mockFindPr,
  mockHistory,
  mockNewBranchCommit,
  mockReadTexts,
  mockTree,
  type CompareFixture,
  type OpenPr,
  type PrHeadFixture,
} from "./github-mocks.js";

export const S1 = "1111111111111111111111111111111111111111"; // the deployed build
export const S2 = "2222222222222222222222222222222222222222"; // the new build (= deploy branch head)
export const S3 = "3333333333333333333333333333333333333333"; // a newer commit
export const MAIN_TREE = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
export const NEW_TREE = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0";
export const NEW_COMMIT = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";
export const CHECK_ID = 77;
/** The external_id of a re-run asked for on check run 4242 (the fixtures' rerequested run). */
export const RERUN_KEY = "nomad-gitops:rerun:4242";
export const C1 = {
  sha: "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
  message: "banana: faster peeling\n\nDetails.",
  date: "2026-11-20T10:00:00Z",
};
export const C2 = {
  sha: "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2",
  message: "docs: readme",
  date: "2026-11-21T10:00:00Z",
};

export function image(service: string, version: number): BuiltImage {
  return buildImage({ layers: [{ [`srv/${service}`]: `${service} v${version}\n` }] });
}

export function jobFile(host: string, service: string, pin: string): string {
  return [
    `job "${service}" {`,
    `  group "app" {`,
    `    task "server" {`,
    `      driver = "docker"`,
    `      config {`,
    `        image = "${host}/acme/${service}:${pin}"`,
    `      }`,
    `    }`,
    `  }`,
    `}`,
    ``,
  ].join("\n");
}

export function configText(host: string, services: string[], extra = ""): string {
  return [
    "build: { workflow: images.yml }",
    "pr: { labels: [deploy] }",
    "services:",
    ...services.map((s) => `  - { name: ${s}, image: ${host}/acme/${s}, paths: [services/${s}/**] }`),
    extra,
  ].join("\n");
}

/**
 * Pushes `<service>:<tag>` for each entry (each service is its own repository). Services go 8 at a time,
 * one service's tags in order: two uploads of the same blob into one repository race in the registry.
 */
export async function pushImages(
  registry: TestRegistry,
  images: Array<[string, string, BuiltImage]>,
): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  const byService = new Map<string, Array<[string, BuiltImage]>>();
  for (const [service, tag, built] of images)
    byService.set(service, [...(byService.get(service) ?? []), [tag, built]]);
  const queue = [...byService];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const [service, tags] = item;
      for (const [tag, built] of tags) {
        digests[`${service}:${tag}`] = await pushTestImage(
          registry.directHost,
          `acme/${service}`,
          tag,
          built,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return digests;
}

export interface ReadsFixture {
  config: string;
  files: Record<string, string>;
  /** Tree modes by path (default 100644), e.g. 120000 for a symbolic link. */
  modes?: Record<string, string>;
  /** Job files the run reads (sorted), default every *.nomad.hcl in files. */
  jobFiles?: string[];
  prHead?: PrHeadFixture | null;
  /** compare S1...S2 for the deployed commit, default ahead with C1, C2. */
  ancestry?: CompareFixture | 404 | null;
  /**
   * queued: the push's waiting run is taken (default); rerun: a re-run from the Checks tab creates its own;
   * none: no run yet, one is created.
   */
  check?: "queued" | "rerun" | "none" | "resume";
  build?: string;
  /** Deploy branch head (default S2). */
  head?: string;
}

/** config, check run → in_progress, branch heads, tree, bulk read, ancestry compare: the start of every run. */
export function mockPlanningReads(fx: ReadsFixture): void {
  const build = fx.build ?? S2;
  mockConfig(fx.config, build);
  const check = fx.check ?? "queued";
  const attemptKey = check === "rerun" ? RERUN_KEY : buildKey();
  const existing = {
    queued: [{ id: CHECK_ID, status: "queued", external_id: PUSH_KEY }],
    // This attempt's run, left in progress by a delivery that did not finish: carried on with, no write.
    resume: [{ id: CHECK_ID, status: "in_progress", external_id: attemptKey }],
    rerun: [],
    none: [],
  }[check];
  mockCheckList(build, existing);
  if (check === "rerun" || check === "none")
    mockCheckCreate(
      { name: "nomad-gitops", head_sha: build, status: "in_progress", external_id: attemptKey },
      CHECK_ID,
    );
  mockBranches({
    base: "main",
    head: "nomad-gitops/deploy",
    baseSha: fx.head ?? S2,
    baseTree: MAIN_TREE,
    prHead: fx.prHead ?? null,
  });
  mockTree(MAIN_TREE, fx.files, fx.modes);
  const jobs =
    fx.jobFiles ??
    Object.keys(fx.files)
      .filter((p) => p.endsWith(".nomad.hcl"))
      .sort();
  mockReadTexts(
    fx.head ?? S2,
    jobs.map((p) => [p, fx.files[p]!]),
  );
  if (fx.ancestry !== null) {
    mockCompare(
      S1,
      build,
      fx.ancestry ?? { status: "ahead", commits: [C1, C2], files: ["services/banana/main.go", "README.md"] },
    );
  }
}

/**
 * The reads after the plan when banana moved (its one commit C1 since S1): its history, the release
 * notes file, and the deploy PR looked for (`pr`: the open one, if any).
 */
export function mockBananaMoveReads(pr: OpenPr | null = null): void {
  mockHistory(S2, ["services/banana"], C1.date, [[C1]]);
  mockReadTexts(S2, [["RELEASES.md", "# Releases\n"]]);
  mockFindPr("nomad-gitops/deploy", "main", pr);
}

/**
 * The writes of a deploy with no PR branch yet, bodies captured in their order: the branch created at
 * the deploy branch head and one createCommitOnBranch on it, then (unless a PR is open) PR #12, its
 * label and its sticky comment (a PR this run opens has none to look for), then the check run's completion.
 */
export function mockNewBranchWrites(bodies: unknown[], options: { existingPr?: boolean } = {}): void {
  mockNewBranchCommit(bodies, NEW_COMMIT);
  if (!options.existingPr) {
    capture("post", `${R}/pulls`, bodies, {
      status: 201,
      body: { number: 12, html_url: "https://github.com/acme/platform/pull/12" },
    });
    github()
      .post(`${R}/issues/12/labels`, { labels: ["deploy"] })
      .reply(200, []);
    capture("post", `${R}/issues/12/comments`, bodies, { status: 201, body: { id: 501 } });
  }
  capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
}

/** Port numbers change per run: make captured bodies stable for snapshots. */
export function normalize(value: unknown, host: string): unknown {
  return JSON.parse(JSON.stringify(value).split(host).join("REGISTRY"));
}

// A late builder: the App receives workflow_run completed of a configured builder's workflow (rebuild.yml,
// started by the build's own completion) and re-plans the build commit; the service it was awaiting is
// pinned with the agreement shown. Real registry, real bundles signed by the test Sigstore instance;
// GitHub's API (attestations included) replaced by nock with exact bodies, nothing left pending.
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { workflowRunEvent } from "../fixtures/github/payloads.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import {
  provenanceStatement,
  buildClaims,
  signBundle,
  testInstance,
  type TestInstance,
} from "../helpers/sigstore.js";
import { R, GRAPHQL, buildKey, committed, mockConfig, mockReadTexts } from "./github-mocks.js";
import {
  type TestProbot,
  github,
  mockInstallationToken,
  takeRequests,
  startTestApp,
  expectGitHubDone,
} from "./harness.js";
import {
  CHECK_ID,
  S1,
  S2,
  configText,
  image,
  jobFile,
  mockPlanningReads,
  pushImages,
  mockBananaMoveReads,
  mockNewBranchWrites,
} from "./scenario.js";

const SERVICES = ["apple", "banana", "cherry"];
const REBUILD_RUN = 9100;
const uri = (file: string) => `https://github.com/acme/platform/.github/workflows/${file}@refs/heads/main`;
let registry: TestRegistry;
let instance: TestInstance;
let digests: Record<string, string>;
let t: TestProbot;

beforeAll(async () => {
  [registry, instance] = await Promise.all([startRegistry(), testInstance()]);
  digests = await pushImages(registry, [
    ["apple", S1, image("apple", 1)],
    ["apple", S2, image("apple", 1)],
    ["banana", S1, image("banana", 1)],
    ["banana", S2, image("banana", 2)],
    ["banana", `${S2}-rebuild`, image("banana", 2)],
    ["cherry", S1, image("cherry", 1)],
    ["cherry", S2, image("cherry", 1)],
  ]);
});
afterAll(() => registry?.stop());

beforeEach(async () => {
  t = await startTestApp({ registry: registry.host });
});
afterEach(() => expectGitHubDone(t));

const ROOT = ".github/sigstore-root.json";
const config = () =>
  configText(
    registry.host,
    SERVICES,
    [
      "provenance:",
      `  trusted_root: ${ROOT}`,
      "  builders:",
      '    - { name: rebuild, workflow: rebuild.yml, runner: self-hosted, tag: "{sha}-rebuild" }',
      "",
    ].join("\n"),
  );

function files(): Record<string, string> {
  const out: Record<string, string> = { "RELEASES.md": "# Releases\n" };
  for (const s of SERVICES)
    out[`nomad/${s}.nomad.hcl`] = jobFile(registry.host, s, `${S1}@${digests[`${s}:${S1}`]}`);
  return out;
}

/** The rebuild's run, started by the build's completion (event workflow_run), for build commit S2. */
function rebuildCompleted() {
  const e = workflowRunEvent({
    headSha: S2,
    conclusion: "success",
    workflowPath: ".github/workflows/rebuild.yml",
    runId: REBUILD_RUN,
  });
  (e.payload.workflow_run as { event: string }).event = "workflow_run";
  return e;
}

async function bundle(file: string, repositoryId: string, overrides: Record<string, string> = {}) {
  return signBundle(instance, {
    claims: {
      ...buildClaims(),
      san: uri(file),
      "9": uri(file),
      "18": uri(file),
      "13": S2,
      "15": repositoryId,
      "21": `https://github.com/acme/platform/actions/runs/${file === "rebuild.yml" ? REBUILD_RUN : 9001}/attempts/1`,
      ...overrides,
    },
    statement: provenanceStatement(digests[`banana:${S2}`]),
  });
}

describe("workflow_run of a configured builder", () => {
  it("[fault:builders-late-app] re-plans the build commit when the late builder completes, and pins the service it awaited", async () => {
    const event = rebuildCompleted();
    const repositoryId = String((event.payload.repository as { id: number }).id);
    const d = digests[`banana:${S2}`]!;
    const attestations = {
      attestations: [
        { bundle: await bundle("images.yml", repositoryId) },
        { bundle: await bundle("rebuild.yml", repositoryId, { "11": "self-hosted", "20": "workflow_run" }) },
      ],
    };
    mockInstallationToken();
    mockPlanningReads({
      config: config(),
      files: { ...files(), [ROOT]: instance.trustedRoot },
      check: "none",
    });
    // The rebuild's attempt owns its check run: the planning reads created it under the build key of run 9001.
    nock.removeInterceptor({
      hostname: "api.github.com",
      proto: "https",
      method: "POST",
      path: `${R}/check-runs`,
    });
    github()
      .post(`${R}/check-runs`, {
        name: "nomad-gitops",
        head_sha: S2,
        status: "in_progress",
        external_id: buildKey(1, REBUILD_RUN),
      })
      .reply(201, { id: CHECK_ID, status: "in_progress" });
    // One read of the trusted root and one attestations lookup of D serve the build's check and the builder's.
    mockReadTexts(S2, [[ROOT, instance.trustedRoot]]);
    github()
      .get(`${R}/attestations/${encodeURIComponent(d)}`)
      .query({ per_page: 100 })
      .reply(200, attestations);
    mockBananaMoveReads();
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    registry.clearRequests();

    await t.probot.receive(event);

    const [, commit, , , check] = bodies as Array<Record<string, unknown>>;
    expect(JSON.stringify(committed(commit))).toContain(d);
    expect(check).toMatchObject({ conclusion: "success" });
    expect((check as { output: { summary: string } }).output.summary).toContain(
      "builders agree 1/1 (rebuild)",
    );
    // One HEAD of the builder's tag, for the one service that moved.
    const heads = registry.requests().filter((r) => r.method === "HEAD" && r.path.endsWith("-rebuild"));
    expect(heads.map((r) => r.path)).toEqual([`/v2/acme/banana/manifests/${S2}-rebuild`]);
    expect(takeRequests().filter((r) => r.startsWith("POST") && r !== `POST ${GRAPHQL}`)).toContain(
      `POST ${R}/git/refs`,
    );
  });

  it.each(["failure", "cancelled", "timed_out"])(
    "[fault:builders-run-failed] a builder's run that ended %s leaves its services awaiting: the config is read, nothing planned or written",
    async (conclusion) => {
      const event = rebuildCompleted();
      Object.assign(event.payload.workflow_run, { conclusion });
      mockInstallationToken();
      mockConfig(config(), S2);
      registry.clearRequests();
      await t.probot.receive(event);
      // No check run of its own (the build's stays neutral, "awaiting builders"), no branch, no PR, no
      // lookup of the builder's tag: its services keep their old pins until a run of it succeeds.
      expect(takeRequests()).toEqual([`GET ${R}/contents/.github%2Fnomad-gitops.yml?ref=${S2}`]);
      expect(registry.requests()).toEqual([]);
    },
  );

  it("[fault:builders-late-app] a workflow started by workflow_run that is no configured builder changes nothing", async () => {
    const event = rebuildCompleted();
    Object.assign(event.payload.workflow_run, { path: ".github/workflows/lint.yml" });
    Object.assign(event.payload.workflow as object, { path: ".github/workflows/lint.yml" });
    mockInstallationToken();
    mockConfig(config(), S2);
    await t.probot.receive(event);
    // The config is read to learn the builders; nothing else is asked or written.
    expect(takeRequests()).toEqual([`GET ${R}/contents/.github%2Fnomad-gitops.yml?ref=${S2}`]);
  });
});

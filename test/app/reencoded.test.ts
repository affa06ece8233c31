// Issue 14 through the App (workflow_run → deploy), with real images in the real local registry and
// GitHub's API replaced by nock with exact bodies: a build that only re-encodes the pinned image (same
// config digest, another gzip header) is `unchanged (re-encoded)` in the check run and the PR comment,
// is left out of the deploy commit, and its pinned image gets the build tag; a re-encoding whose pinned
// manifest was deleted from the registry is a real move, said so; the same layers stacked in another
// order are a real move, explained as such.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/index.js";
import { workflowRunEvent } from "../fixtures/github/payloads.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { R, capture, committed, mockFindPr, mockReadTexts } from "./github-mocks.js";
import { type TestProbot, mockInstallationToken, startTestApp, expectGitHubDone } from "./harness.js";
import {
  CHECK_ID,
  S1,
  S2,
  configText,
  image,
  jobFile,
  mockPlanningReads,
  normalize,
  pushImages,
  mockBananaMoveReads,
  mockNewBranchWrites,
} from "./scenario.js";

const SERVICES = ["apple", "banana", "cherry"];
/** cherry's pinned image with its layer's gzip header stamped by another build: same files, same config. */
const cherryReencoded = buildImage({
  layers: [{ "srv/cherry": "cherry v1\n" }],
  gzip: { mtime: 1_764_000_000, os: 3, level: 9 },
});
let registry: TestRegistry;
let host: string;
let digests: Record<string, string>;
let reencoded: string;
let t: TestProbot;

beforeAll(async () => {
  registry = await startRegistry();
  host = registry.host;
  digests = await pushImages(registry, [
    ["apple", S1, image("apple", 1)],
    ["apple", S2, image("apple", 1)],
    ["banana", S1, image("banana", 1)],
    ["banana", S2, image("banana", 2)],
    ["cherry", S1, image("cherry", 1)],
  ]);
  expect(cherryReencoded.config.digest).toBe(image("cherry", 1).config.digest);
});
afterAll(async () => {
  await registry?.stop();
});

beforeEach(async () => {
  t = await startTestApp({ registry: host });
  // Every test starts from a build whose cherry tag names the re-encoded image.
  reencoded = await pushTestImage(registry.directHost, "acme/cherry", S2, cherryReencoded);
  expect(reencoded).not.toBe(digests[`cherry:${S1}`]);
});
afterEach(() => expectGitHubDone(t));

const short = (digest: string) => digest.slice(7, 19);
const pins = (over: Record<string, string> = {}) => {
  const files: Record<string, string> = { "RELEASES.md": "# Releases\n" };
  for (const s of SERVICES)
    files[`nomad/${s}.nomad.hcl`] = jobFile(host, s, over[s] ?? `${S1}@${digests[`${s}:${S1}`]}`);
  return files;
};
const event = () => workflowRunEvent({ headSha: S2, conclusion: "success", branch: "main" });
const registryRequests = (repo: string) =>
  registry
    .requests()
    .filter((r) => r.path.startsWith(`/v2/acme/${repo}/`))
    .map((r) => `${r.method} ${r.path.replace(/sha256:[0-9a-f]{64}/, "<digest>")} ${r.status}`)
    .sort();

describe("App: a build that only re-encodes an image", () => {
  it("cherry re-encoded: unchanged (re-encoded) with the reason in the check run and comment, not in the commit, its pin gets the build tag", async () => {
    mockInstallationToken();
    mockPlanningReads({ config: configText(host, SERVICES), files: pins() });
    mockBananaMoveReads();
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    registry.clearRequests();

    await t.probot.receive(event());

    const [, commit, pr, comment, check] = normalize(bodies, host) as [
      unknown,
      { message: { headline: string; body?: string } },
      { title: string; body: string },
      { body: string },
      { conclusion: string; output: { title: string; summary: string } },
    ];
    // Only banana is redeployed: cherry's job file is not in the commit.
    expect(committed(bodies[1]).map((e) => e.path)).toEqual(["nomad/banana.nomad.hcl", "RELEASES.md"]);
    expect(JSON.stringify(commit.message)).not.toContain("cherry");
    expect(pr.title).toBe("Deploy banana");
    const reason = `same config ${cherryReencoded.config.digest}, same content, manifest encoded differently`;
    const note = `re-encoded: the build's \`${short(reencoded)}\` has the same content (${reason}); the pin is kept, not redeployed`;
    const pinned = digests[`cherry:${S1}`]!;
    const list = `**Re-encoded, not redeployed**\n\n- **cherry** keeps \`${short(pinned)}\`: ${note}`;
    expect(comment.body).toContain(list);
    expect(pr.body).toContain(list);
    expect(check.conclusion).toBe("success");
    expect(check.output.title).toBe("1 moved, 2 unchanged (1 re-encoded)");
    expect(check.output.summary).toContain(
      `| cherry | unchanged (re-encoded) | \`${short(pinned)}\` | ${note} |`,
    );
    // cherry: 1 HEAD of the build tag, 1 GET proving the new digest, 1 GET of the pin to compare; then the
    // retag's HEAD finds the tag elsewhere and PUTs the pinned manifest under it: the tag names what runs.
    expect(registryRequests("cherry")).toEqual([
      `GET /v2/acme/cherry/manifests/${S2} 200`,
      "GET /v2/acme/cherry/manifests/<digest> 200",
      `HEAD /v2/acme/cherry/manifests/${S2} 200`,
      `HEAD /v2/acme/cherry/manifests/${S2} 200`,
      `PUT /v2/acme/cherry/manifests/${S2} 201`,
    ]);
    const client = createRegistryClient({ env: {} });
    expect((await client.prove(`${host}/acme/cherry:${S2}`)).digest).toBe(pinned);
  });

  it("nothing else moved: no branch, no PR; the check run says which service was re-encoded and why", async () => {
    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: pins({ banana: `${S1}@${digests[`banana:${S2}`]}` }),
      check: "none",
    });
    mockFindPr("nomad-gitops/deploy", "main", null);
    const bodies: unknown[] = [];
    capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
    await t.probot.receive(event());
    const check = normalize(bodies[0], host) as {
      conclusion: string;
      output: { title: string; summary: string };
    };
    expect(check.conclusion).toBe("success");
    expect(check.output.title).toBe("3 unchanged (1 re-encoded)");
    expect(check.output.summary).toMatch(
      /\| cherry \| unchanged \(re-encoded\) \| `[0-9a-f]{12}` \| re-encoded: /,
    );
    expect(registryRequests("cherry")).toContain(`PUT /v2/acme/cherry/manifests/${S2} 201`);
  });

  // Last: it deletes cherry's pinned manifest from the registry.
  it("cherry's pinned manifest deleted: the re-encoding is a real move, said so; apple's layers reordered: moved, explained as such", async () => {
    const pinned = digests[`cherry:${S1}`]!;
    const gone = await fetch(`http://${registry.directHost}/v2/acme/cherry/manifests/${pinned}`, {
      method: "DELETE",
    });
    expect(gone.status).toBe(202);
    // apple: pinned on two layers; the build stacks the same two layers the other way round.
    const layers: Array<Record<string, string>> = [
      { "etc/os-release": "ID=fruit\n" },
      { "srv/apple": "apple v1\n" },
    ];
    const stacked = buildImage({ layers });
    const swapped = buildImage({ layers: [...layers].reverse() });
    const applePin = await pushTestImage(registry.directHost, "acme/apple", "stacked", stacked);
    const appleNew = await pushTestImage(registry.directHost, "acme/apple", S2, swapped);

    mockInstallationToken();
    mockPlanningReads({
      config: configText(host, SERVICES),
      files: pins({ apple: `${S1}@${applePin}`, banana: `${S1}@${digests[`banana:${S2}`]}` }),
    });
    // The compare S1...S2 lists no file under apple's or cherry's paths: no history query for them.
    mockReadTexts(S2, [["RELEASES.md", "# Releases\n"]]);
    mockFindPr("nomad-gitops/deploy", "main", null);
    const bodies: unknown[] = [];
    mockNewBranchWrites(bodies);
    await t.probot.receive(event());

    const [, , , , check] = normalize(bodies, host) as [
      unknown,
      unknown,
      unknown,
      unknown,
      { conclusion: string; output: { title: string; summary: string } },
    ];
    const tree = { tree: normalize(committed(bodies[1]), host) as Array<{ path: string; content: string }> };
    expect(tree.tree.map((e) => e.path)).toEqual([
      "nomad/apple.nomad.hcl",
      "nomad/cherry.nomad.hcl",
      "RELEASES.md",
    ]);
    expect(tree.tree[1]!.content).toContain(`image = "REGISTRY/acme/cherry@${reencoded}"`);
    expect(tree.tree[0]!.content).toContain(`image = "REGISTRY/acme/apple@${appleNew}"`);
    expect(check.output.title).toBe("2 moved, 1 unchanged");
    expect(check.output.summary).toContain(
      `| cherry | moved | \`${short(pinned)}\` → \`${short(reencoded)}\` | the pinned ${pinned} is no longer in the registry: pinned the new digest although it may hold the same content |`,
    );
    // Its old image is gone: nothing to explain it against, and no "not explained" noise about it.
    expect(check.output.summary).not.toContain("**cherry** non-reproducible");
    // apple moved without a commit: the explanation says what differs, and that it is a real change.
    expect(check.output.summary).toContain(
      "- **apple** non-reproducible build: same layers, different order",
    );
    expect(check.output.summary).toContain("Same layers, different order: layer 1 → 2 (");
    expect(check.output.summary).toMatch(
      /\*\*same layers, different order: layer 1 → 2, layer 2 → 1\*\*\. Likely cause: /,
    );
  });
});

// The App with `provenance:` required, end to end in process: a real Probot, the real local registry (its
// `sha256-<hex>` fallback tags answer 404: no attestation pushed beside the images), GitHub's API replaced
// by nock with exact bodies, and GitHub's attestations API serving bundles signed for real by the test
// Sigstore instance. banana's build is attested by the deploy branch's push and is pinned; cherry's tag
// was pushed by a pull request's build and is not; the comment, the check run and the draft release say
// who built what, and how to check it with `gh attestation verify`.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { workflowRunEvent } from "../fixtures/github/payloads.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import {
  buildClaims,
  provenanceStatement,
  signBundle,
  testInstance,
  type TestInstance,
} from "../helpers/sigstore.js";
import { R, capture, committed, mockNewBranchCommit, mockReadTexts } from "./github-mocks.js";
import { type TestProbot, github, mockInstallationToken, startTestApp, expectGitHubDone } from "./harness.js";
import {
  CHECK_ID,
  NEW_COMMIT,
  S1,
  S2,
  configText,
  image,
  jobFile,
  mockPlanningReads,
  normalize,
  pushImages,
  mockBananaMoveReads,
} from "./scenario.js";

const SERVICES = ["apple", "banana", "cherry"];
const ROOT_FILE = ".github/sigstore-root.json";
let registry: TestRegistry;
let host: string;
let digests: Record<string, string>;
let instance: TestInstance;
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
    ["cherry", S2, image("cherry", 2)],
  ]);
  instance = await testInstance();
});
afterAll(async () => {
  await registry?.stop();
});
beforeEach(async () => {
  t = await startTestApp({ registry: host });
});
afterEach(() => expectGitHubDone(t));

function repoFiles(): Record<string, string> {
  const files: Record<string, string> = { "RELEASES.md": "# Releases\n", [ROOT_FILE]: instance.trustedRoot };
  for (const s of SERVICES)
    files[`nomad/${s}.nomad.hcl`] = jobFile(host, s, `${S1}@${digests[`${s}:${S1}`]}`);
  return files;
}

/** GitHub's answer to the attestations of `digest`: one bundle. */
function mockAttestations(digest: string, bundle: unknown): void {
  github()
    .get(`${R}/attestations/${encodeURIComponent(digest)}`)
    .query({ per_page: "100" })
    .reply(200, { attestations: [{ bundle, repository_id: 1296269 }] });
}

it("[fault:provenance-untrusted-build] [fault:release-draft-refused-digest] pins the attested build, refuses the pull request's, and the comment, check run and draft release carry the attesters", async () => {
  const received = workflowRunEvent({ headSha: S2, conclusion: "success", branch: "main" });
  const repositoryId = String((received.payload.repository as { id: number }).id);
  const claims = { ...buildClaims(), "13": S2, "15": repositoryId };
  const banana = digests[`banana:${S2}`]!;
  const cherry = digests[`cherry:${S2}`]!;
  const config = configText(
    host,
    SERVICES,
    `release_notes: { github_release: draft }\nprovenance: { trusted_root: ${ROOT_FILE} }`,
  );
  mockInstallationToken();
  mockPlanningReads({ config, files: repoFiles() });
  mockReadTexts(S2, [[ROOT_FILE, instance.trustedRoot]]);
  mockAttestations(banana, await signBundle(instance, { claims, statement: provenanceStatement(banana) }));
  mockAttestations(
    cherry,
    await signBundle(instance, {
      claims: { ...claims, "14": "refs/pull/7/merge", "20": "pull_request" },
      statement: provenanceStatement(cherry),
    }),
  );
  mockBananaMoveReads();
  // No PR branch yet: created at the deploy branch head, then one createCommitOnBranch on it.
  const tree: unknown[] = [];
  mockNewBranchCommit(tree, NEW_COMMIT);
  github()
    .post(`${R}/pulls`, (b: { title: string; head: string }) => b.head === "nomad-gitops/deploy")
    .reply(201, { number: 12, html_url: "https://github.com/acme/platform/pull/12" });
  github()
    .post(`${R}/issues/12/labels`, { labels: ["deploy"] })
    .reply(200, []);
  // A PR this run opens has no sticky comment to look for.
  const comment: unknown[] = [];
  capture("post", `${R}/issues/12/comments`, comment, { status: 201, body: { id: 501 } });
  github().get(`${R}/releases`).query({ per_page: 30 }).reply(200, []);
  const release: unknown[] = [];
  capture("post", `${R}/releases`, release, { status: 201, body: { id: 4 } });
  const check: unknown[] = [];
  capture("patch", `${R}/check-runs/${CHECK_ID}`, check, { status: 200, body: { id: CHECK_ID } });

  await t.probot.receive(received);

  // Only banana's new digest is written; cherry keeps its old pin.
  const written = JSON.stringify(committed(tree[1]));
  expect(written).toContain(banana);
  expect(written).not.toContain(cherry);
  const [c] = normalize(comment, host) as [{ body: string }];
  expect(c.body).toMatchInlineSnapshot(`
    "<!-- nomad-gitops:images -->
    ### 1 image changed for [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

    | service | digest | tag | job files | commits | provenance |
    |---|---|---|---|---|---|
    | banana | \`921d74d76d15\` → \`09528fbbc77f\` | \`2222222222222222222222222222222222222222\` | \`nomad/banana.nomad.hcl\` | 1 | verified: \`acme/platform/.github/workflows/images.yml@refs/heads/main\` built [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) (push, github-hosted runner), [run 42](https://github.com/acme/platform/actions/runs/42/attempts/1) |

    <details><summary>1 unchanged</summary>

    | service | digest | job files |
    |---|---|---|
    | apple | \`4ece9cd48882\` | \`nomad/apple.nomad.hcl\` |

    </details>

    **Not deployed**

    - **cherry** not pinned, unverified: ref — built from ref "refs/pull/7/merge", expected refs/heads/main
    "
  `);
  const [r] = normalize(release, host) as [{ body: string }];
  expect(r.body).toMatchInlineSnapshot(`
    "<!-- nomad-gitops:release-draft 2222222222222222222222222222222222222222 -->
    Images of \`main\` at 2222222222222222222222222222222222222222. Rebuild that commit and compare these digests to check that the build is reproducible.

    | service | image | digest | status | build run |
    |---|---|---|---|---|
    | apple | \`REGISTRY/acme/apple\` | \`sha256:4ece9cd488826ae23287408e96e40a1940f1d26f5859809bb1c675078855a470\` | unchanged | — |
    | banana | \`REGISTRY/acme/banana\` | \`sha256:09528fbbc77fce8816d4871b9ac1c5ff14bd988cb0cf36f522b0344c2ce91928\` | moved | [run 42](https://github.com/acme/platform/actions/runs/42/attempts/1) |
    | cherry | \`REGISTRY/acme/cherry\` | \`sha256:1ed85bfaf06ab1e4e3ed1003e36cea50eb20e6fe6dcc19e4c87a2342d9508ec5\` | unverified, not pinned (ref) | — |

    <!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
    ## 2026-11-25 · main @ [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

    ### banana

    \`REGISTRY/acme/banana\`: \`921d74d76d15\` → \`09528fbbc77f\` (tag \`2222222222222222222222222222222222222222\`)

    Built and attested by GitHub Actions ([run 42](https://github.com/acme/platform/actions/runs/42/attempts/1)):

    - repository \`acme/platform\` (id 283462325)
    - workflow \`acme/platform/.github/workflows/images.yml@refs/heads/main\`
    - commit [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) on \`refs/heads/main\`, triggered by \`push\`
    - runner: github-hosted

    Verify it yourself:

    \`\`\`sh
    gh attestation verify oci://REGISTRY/acme/banana@sha256:09528fbbc77fce8816d4871b9ac1c5ff14bd988cb0cf36f522b0344c2ce91928 --repo acme/platform --cert-identity https://github.com/acme/platform/.github/workflows/images.yml@refs/heads/main --source-ref refs/heads/main --source-digest 2222222222222222222222222222222222222222 --deny-self-hosted-runners
    \`\`\`

    - [\`a1a1a1a\`](https://github.com/acme/platform/commit/a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1) banana: faster peeling (dev)
    "
  `);
  // The refused digest is named nowhere as this build's image: neither in the draft nor in the comment.
  expect(r.body).not.toContain(cherry);
  expect(c.body).not.toContain(cherry.slice(7, 19));
  const [k] = normalize(check, host) as [{ conclusion: string; output: { title: string; summary: string } }];
  expect(k.conclusion).toBe("failure");
  expect(k.output.title).toBe("1 moved, 1 unchanged, 1 unverified");
  expect(k.output.summary).toMatchInlineSnapshot(`
    "Build \`2222222\` on \`main\`, tag \`2222222222222222222222222222222222222222\`.

    | service | status | digest | note |
    |---|---|---|---|
    | apple | unchanged | \`4ece9cd48882\` |  |
    | banana | moved | \`921d74d76d15\` → \`09528fbbc77f\` | verified: \`acme/platform/.github/workflows/images.yml@refs/heads/main\` built [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) (push, github-hosted runner), [run 42](https://github.com/acme/platform/actions/runs/42/attempts/1) |
    | cherry | unverified (not pinned) | \`1ed85bfaf06a\` → \`4b75ec1f8047\` | unverified: ref — built from ref "refs/pull/7/merge", expected refs/heads/main |

    Deploy PR: #12 (1 image).
    "
  `);
});

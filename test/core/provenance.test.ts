// The pipeline with `provenance` required: the attestations port stands in for GitHub's API and the
// registry's referrers; the bundles in it are signed for real by the test Sigstore instance.
import { beforeAll, describe, expect, it } from "vitest";
import { runDeploy } from "../../src/core/pipeline.js";
import type { AttestationsPort } from "../../src/core/provenance.js";
import {
  buildClaims,
  provenanceStatement,
  signBundle,
  testInstance,
  type TestInstance,
} from "../helpers/sigstore.js";
import { MemoryRepo, NEW_SHA, OLD_SHA, TableRegistry, config, digest, fixtureFiles } from "./fixture.js";

const REPO = "acme/platform";
const WORKFLOW = `https://github.com/${REPO}/.github/workflows/images.yml@refs/heads/main`;
const cfg = config(`
registry: ghcr.io/acme/platform
build: { workflow: images.yml }
services:
  - { name: banana, image: ghcr.io/acme/platform/banana }
  - { name: kiwi, image: ghcr.io/acme/platform/kiwi }
  - { name: mango, image: ghcr.io/acme/platform/mango }
provenance: { trusted_root: .github/sigstore-root.json }
`);
const table = {
  [`ghcr.io/acme/platform/banana:${NEW_SHA}`]: digest("c"),
  [`ghcr.io/acme/platform/kiwi:${NEW_SHA}`]: digest("b"),
  [`ghcr.io/acme/platform/mango:${NEW_SHA}`]: digest("d"),
};

/** Bundles by digest; records every digest asked about. */
class Attestations implements AttestationsPort {
  asked: string[] = [];
  constructor(private readonly byDigest: Record<string, unknown[]>) {}
  async bundles(_image: string, d: string) {
    this.asked.push(d);
    return this.byDigest[d] ?? [];
  }
}

let instance: TestInstance;
beforeAll(async () => {
  instance = await testInstance();
});

const claims = (overrides: Record<string, string>) => ({
  ...buildClaims(),
  san: WORKFLOW,
  "9": WORKFLOW,
  "12": `https://github.com/${REPO}`,
  "13": NEW_SHA,
  "21": `https://github.com/${REPO}/actions/runs/7/attempts/1`,
  ...overrides,
});

describe("runDeploy with provenance required", () => {
  it("[fault:provenance-untrusted-build] pins the attested move, refuses the unattested one, asks nothing about unchanged services", async () => {
    const files = fixtureFiles();
    files.set(".github/sigstore-root.json", instance.trustedRoot);
    const port = new Attestations({
      [digest("c")]: [
        await signBundle(instance, { claims: claims({}), statement: provenanceStatement(digest("c")) }),
      ],
      // Pushed by a pull request's build: a real attestation, but of the wrong trigger.
      [digest("d")]: [
        await signBundle(instance, {
          claims: claims({ "20": "pull_request" }),
          statement: provenanceStatement(digest("d")),
        }),
      ],
    });
    const result = await runDeploy({
      config: cfg,
      build: { sha: NEW_SHA, branch: "main" },
      repo: new MemoryRepo(files, []),
      registry: new TableRegistry(table),
      mode: "plan",
      repoUrl: `https://github.com/${REPO}`,
      clock: { now: () => new Date("2026-12-07T06:00:00Z") },
      provenance: { port, repository: REPO, repositoryId: "123456789" },
    });
    const byName = Object.fromEntries(result.plan.services.map((s) => [s.name, s]));
    const moving = result.plan.services.filter((s) => s.status === "moved" || s.status === "new");
    expect(moving.map((s) => s.name)).toEqual(["banana"]);
    expect(byName.banana!.provenance).toMatchObject({
      status: "verified",
      link: `https://github.com/${REPO}/actions/runs/7/attempts/1`,
    });
    expect(byName.mango).toMatchObject({
      status: "unverified",
      reason: 'trigger: the build was triggered by "pull_request", allowed: push, workflow_dispatch',
    });
    expect(byName.kiwi!.status).toBe("unchanged");
    expect(port.asked.sort()).toEqual([digest("c"), digest("d")]);
    expect(result.files.map((f) => f.path).join(" ")).not.toMatch(/mango/);
    expect(result.files.some((f) => f.after.includes(digest("c")))).toBe(true);
    expect(result.files.some((f) => f.after.includes(digest("d")))).toBe(false);
    expect(result.check.conclusion).toBe("failure");
    expect(result.check.title).toContain("1 unverified");
    expect(result.check.summary).toMatchInlineSnapshot(`
      "Build \`2222222\` on \`main\`, tag \`2222222222222222222222222222222222222222\`.

      | service | status | digest | note |
      |---|---|---|---|
      | banana | moved | \`aaaaaaaaaaaa\` → \`cccccccccccc\` | verified: \`acme/platform/.github/workflows/images.yml@refs/heads/main\` built [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) (push, github-hosted runner), [run 7](https://github.com/acme/platform/actions/runs/7/attempts/1) |
      | kiwi | unchanged | \`bbbbbbbbbbbb\` |  |
      | mango | unverified (not pinned) | — → \`dddddddddddd\` | unverified: trigger — the build was triggered by "pull_request", allowed: push, workflow_dispatch |

      **Not deployed**

      - **mango** not pinned, unverified: trigger — the build was triggered by "pull_request", allowed: push, workflow_dispatch
      - \`nomad/broken.nomad.hcl:11\` skipped: not valid HCL2: syntax error: incomplete (expected "}")
      "
    `);
    expect(result.comment).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:images -->
      ### 1 image changed for [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      | service | digest | tag | job files | commits | provenance |
      |---|---|---|---|---|---|
      | banana | \`aaaaaaaaaaaa\` → \`cccccccccccc\` | \`2222222222222222222222222222222222222222\` | \`nomad/banana.nomad.hcl\` | — | verified: \`acme/platform/.github/workflows/images.yml@refs/heads/main\` built [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) (push, github-hosted runner), [run 7](https://github.com/acme/platform/actions/runs/7/attempts/1) |

      <details><summary>1 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | kiwi | \`bbbbbbbbbbbb\` | \`nomad/kiwi.nomad.hcl\` |

      </details>

      **Not deployed**

      - **mango** not pinned, unverified: trigger — the build was triggered by "pull_request", allowed: push, workflow_dispatch
      - \`nomad/broken.nomad.hcl:11\` skipped: not valid HCL2: syntax error: incomplete (expected "}")
      "
    `);
    expect(result.releaseNotes).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
      ## 2026-12-07 · main @ [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      ### banana

      \`ghcr.io/acme/platform/banana\`: \`aaaaaaaaaaaa\` → \`cccccccccccc\` (tag \`2222222222222222222222222222222222222222\`)

      Built and attested by GitHub Actions ([run 7](https://github.com/acme/platform/actions/runs/7/attempts/1)):

      - repository \`acme/platform\` (id 123456789)
      - workflow \`acme/platform/.github/workflows/images.yml@refs/heads/main\`
      - commit [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) on \`refs/heads/main\`, triggered by \`push\`
      - runner: github-hosted

      Verify it yourself:

      \`\`\`sh
      gh attestation verify oci://ghcr.io/acme/platform/banana@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc --repo acme/platform --cert-identity https://github.com/acme/platform/.github/workflows/images.yml@refs/heads/main --source-ref refs/heads/main --source-digest 2222222222222222222222222222222222222222 --deny-self-hosted-runners
      \`\`\`

      _no \`paths\` configured for this service_
      "
    `);
  });

  it("[fault:attestations-forbidden] says why when the trusted root is missing or the attestations cannot be read, and pins nothing", async () => {
    const failing: AttestationsPort = {
      bundles: async () => {
        throw new Error("GitHub refused to list attestations (403): the token lacks `attestations: read`");
      },
    };
    const run = (files: Map<string, string>) =>
      runDeploy({
        config: cfg,
        build: { sha: NEW_SHA, branch: "main" },
        repo: new MemoryRepo(files, []),
        registry: new TableRegistry(table),
        mode: "plan",
        provenance: { port: failing, repository: REPO },
      });
    const noRoot = await run(fixtureFiles());
    expect(noRoot.plan.services.filter((s) => s.status === "unverified").map((s) => s.reason)).toEqual([
      "trusted root: provenance.trusted_root: .github/sigstore-root.json is not in the repository",
      "trusted root: provenance.trusted_root: .github/sigstore-root.json is not in the repository",
    ]);
    const files = fixtureFiles();
    files.set(".github/sigstore-root.json", instance.trustedRoot);
    const denied = await run(files);
    expect(
      new Set(denied.plan.services.filter((s) => s.status === "unverified").map((s) => s.reason)),
    ).toEqual(
      new Set([
        "attestations: GitHub refused to list attestations (403): the token lacks `attestations: read`",
      ]),
    );
    expect(denied.files.filter((f) => !f.path.endsWith(".md"))).toEqual([]);
  });
});

describe("when provenance checks start", () => {
  const history = (...shas: string[]) =>
    shas.map((sha) => ({ sha, subject: `build ${sha.slice(0, 7)}`, files: ["services/README.md"] }));

  it("[fault:provenance-early] checks a moving service while other tags are still being read, each digest once", async () => {
    const files = fixtureFiles();
    files.set(".github/sigstore-root.json", instance.trustedRoot);
    const port = new Attestations({
      [digest("c")]: [
        await signBundle(instance, { claims: claims({}), statement: provenanceStatement(digest("c")) }),
      ],
    });
    // kiwi's tag lookup is answered only once banana's attestations were asked for: were the check a
    // phase after every lookup, it would wait for this one; the fallback only keeps a failure from hanging.
    let releasedBy: string | undefined;
    const askedForBanana = new Promise<void>((resolve) => {
      const bundles = port.bundles.bind(port);
      port.bundles = async (image, d) => {
        if (d === digest("c")) resolve();
        return bundles(image, d);
      };
    });
    const registry = new (class extends TableRegistry {
      override async digest(ref: string) {
        if (ref.includes("/kiwi:")) {
          let timer: NodeJS.Timeout | undefined;
          releasedBy = await Promise.race([
            askedForBanana.then(() => "banana's lookup"),
            new Promise<string>((resolve) => (timer = setTimeout(() => resolve("fallback"), 20_000))),
          ]);
          clearTimeout(timer);
        }
        return super.digest(ref);
      }
    })(table);
    const result = await runDeploy({
      config: cfg,
      build: { sha: NEW_SHA, branch: "main" },
      repo: new MemoryRepo(files, history(OLD_SHA, NEW_SHA)),
      registry,
      mode: "plan",
      provenance: { port, repository: REPO, repositoryId: "123456789" },
    });
    expect(releasedBy).toBe("banana's lookup");
    const byName = Object.fromEntries(result.plan.services.map((s) => [s.name, s]));
    expect(byName.banana).toMatchObject({ status: "moved", provenance: { status: "verified" } });
    expect(byName.mango).toMatchObject({
      status: "unverified",
      reason: `attestation: no attestation found for ${digest("d")}`,
    });
    expect(byName.kiwi!.status).toBe("unchanged");
    expect(port.asked.sort()).toEqual([digest("c"), digest("d")]);
  }, 30_000);

  it("[fault:provenance-not-moving] asks nothing about a move the plan refuses (older build, or a build behind the deploy branch)", async () => {
    const files = fixtureFiles();
    files.set(".github/sigstore-root.json", instance.trustedRoot);
    const run = async (base?: string) => {
      const port = new Attestations({});
      const result = await runDeploy({
        config: cfg,
        build: { sha: NEW_SHA, branch: "main" },
        // The build is older than banana's deployed build.
        repo: new MemoryRepo(files, history(NEW_SHA, OLD_SHA)),
        registry: new TableRegistry(table),
        mode: "plan",
        provenance: { port, repository: REPO },
        ...(base ? { base } : {}),
      });
      const statuses = Object.fromEntries(result.plan.services.map((s) => [s.name, s.status]));
      return { statuses, asked: port.asked };
    };
    // banana would be a downgrade: stale, never looked up; mango is new: looked up once, in its turn.
    const older = await run();
    expect(older.statuses).toMatchObject({ banana: "stale", kiwi: "unchanged", mango: "unverified" });
    expect(older.asked).toEqual([digest("d")]);
    // The build is behind the deploy branch: nothing moves, nothing is looked up.
    const skipped = await run(OLD_SHA);
    expect(skipped.statuses).toMatchObject({ banana: "stale", kiwi: "unchanged", mango: "stale" });
    expect(skipped.asked).toEqual([]);
  });
});

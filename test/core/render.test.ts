import { describe, expect, it } from "vitest";
import { discoverServices } from "../../src/core/discovery.js";
import { plan } from "../../src/core/plan.js";
import { releaseNotesTargets, renderReleaseNotes } from "../../src/core/release-notes.js";
import { renderCheckRun, renderPrTitle, renderReleaseDraft } from "../../src/core/render.js";
import { findImages } from "../../src/jobfile/jobfile.js";
import { NEW_SHA, config, digest, fixtureFiles } from "./fixture.js";

const files = fixtureFiles();
const scanned = await Promise.all(
  [...files]
    .filter(([p]) => p.endsWith(".hcl"))
    .map(async ([path, text]) => ({ path, scan: await findImages(text) })),
);
const built = (d: string) => ({ status: "built" as const, digest: d, tag: NEW_SHA, source: `x:${NEW_SHA}` });
const makePlan = (yaml: string) => {
  const cfg = config(yaml);
  const p = plan({
    config: cfg,
    build: { sha: NEW_SHA, branch: "main" },
    discovery: discoverServices(cfg, scanned),
    resolved: { banana: built(digest("c")), kiwi: built(digest("b")), mango: built(digest("d")) },
  });
  return { cfg, p };
};

describe("release notes targets", () => {
  it("one file by default, one per job directory or service with placeholders, none when false", () => {
    const names = (yaml: string) => {
      const { cfg, p } = makePlan(yaml);
      return [...releaseNotesTargets(cfg, p)].map(
        ([file, services]) => `${file}: ${services.map((s) => s.name).join(",")}`,
      );
    };
    expect(names("registry: ghcr.io/acme/platform")).toEqual(["RELEASES.md: banana,mango"]);
    expect(
      names('registry: ghcr.io/acme/platform\nrelease_notes: { file: "{job_dir}/CHANGELOG.md" }'),
    ).toEqual(["nomad/CHANGELOG.md: banana,mango"]);
    expect(names('registry: ghcr.io/acme/platform\nrelease_notes: { file: "docs/{service}.md" }')).toEqual([
      "docs/banana.md: banana",
      "docs/mango.md: mango",
    ]);
    expect(names("registry: ghcr.io/acme/platform\nrelease_notes: { file: false }")).toEqual([]);
  });
});

describe("titles and the release draft", () => {
  const ctx = { commits: {}, date: new Date("2026-11-26T00:00:00Z") };
  // What the App posts: the draft from the plan, the deploy's release notes and its PR title.
  const draftOf = (cfg: ReturnType<typeof config>, p: ReturnType<typeof makePlan>["p"]) =>
    renderReleaseDraft(p, { releaseNotes: renderReleaseNotes(p, ctx), prTitle: renderPrTitle(cfg, p) });

  it("fills the PR title template and lists every digest in the draft release", () => {
    const { cfg, p } = makePlan(
      'registry: ghcr.io/acme/platform\npr: { title: "deploy({short_sha}): {services}" }',
    );
    expect(renderPrTitle(cfg, p)).toBe("deploy(2222222): banana, mango");
    const draft = draftOf(cfg, p);
    expect(draft.name).toBe("Deploy 2222222: deploy(2222222): banana, mango");
    expect(draft.body).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:release-draft 2222222222222222222222222222222222222222 -->
      Images of \`main\` at 2222222222222222222222222222222222222222. Rebuild that commit and compare these digests to check that the build is reproducible.

      | service | image | digest | status |
      |---|---|---|---|
      | banana | \`ghcr.io/acme/platform/banana\` | \`sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\` | moved |
      | kiwi | \`ghcr.io/acme/platform/kiwi\` | \`sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\` | unchanged |
      | mango | \`ghcr.io/acme/platform/mango\` | \`sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\` | new |

      <!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
      ## 2026-11-26 · main @ \`2222222\`

      ### banana

      \`ghcr.io/acme/platform/banana\`: \`aaaaaaaaaaaa\` → \`cccccccccccc\` (tag \`2222222222222222222222222222222222222222\`)

      _no commit history_

      ### mango

      \`ghcr.io/acme/platform/mango\`: not pinned → \`dddddddddddd\` (tag \`2222222222222222222222222222222222222222\`)

      _no commit history_
      "
    `);
  });

  it("[fault:release-draft-refused-digest] never lists a digest refused for its provenance as the build's image", () => {
    const { cfg, p } = makePlan("registry: ghcr.io/acme/platform");
    const refuse = (s: (typeof p.services)[number]) =>
      s.name === "mango"
        ? {
            ...s,
            status: "unverified" as const,
            provenance: {
              status: "unverified" as const,
              digest: s.next!.digest!,
              check: "trigger",
              reason: 'the build was triggered by "pull_request", allowed: push',
            },
          }
        : s;
    const refused = { ...p, services: p.services.map(refuse) };
    const body = draftOf(cfg, refused).body;
    expect(body).not.toContain(digest("d"));
    // mango had no pin, so its row names no digest; banana moved and is in the notes, mango is not.
    expect(body).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:release-draft 2222222222222222222222222222222222222222 -->
      Images of \`main\` at 2222222222222222222222222222222222222222. Rebuild that commit and compare these digests to check that the build is reproducible.

      | service | image | digest | status | build run |
      |---|---|---|---|---|
      | banana | \`ghcr.io/acme/platform/banana\` | \`sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\` | moved | — |
      | kiwi | \`ghcr.io/acme/platform/kiwi\` | \`sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\` | unchanged | — |
      | mango | \`ghcr.io/acme/platform/mango\` | — | unverified, not pinned (trigger) | — |

      <!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
      ## 2026-11-26 · main @ \`2222222\`

      ### banana

      \`ghcr.io/acme/platform/banana\`: \`aaaaaaaaaaaa\` → \`cccccccccccc\` (tag \`2222222222222222222222222222222222222222\`)

      _no commit history_
      "
    `);
  });
});

describe("text in the check run", () => {
  it("keeps a reason from opening HTML or breaking the table", () => {
    const { p } = makePlan("registry: ghcr.io/acme/platform");
    // A builder's or registry's words reach the reason: they are shown, never read as markup.
    const refused = {
      ...p,
      services: p.services.map((s) =>
        s.name === "banana"
          ? { ...s, status: "error" as const, reason: 'bad <img src=x onerror="x"> | cell\nnext' }
          : s,
      ),
    };
    const row = renderCheckRun(refused)
      .summary.split("\n")
      .find((l) => l.startsWith("| banana |"));
    expect(row).toBe('| banana | error | `cccccccccccc` | bad &lt;img src=x onerror="x"&gt; \\| cell next |');
  });
});

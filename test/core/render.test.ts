import { describe, expect, it } from "vitest";
import { discoverServices } from "../../src/core/discovery.js";
import { plan } from "../../src/core/plan.js";
import { releaseNotesTargets } from "../../src/core/release-notes.js";
import { renderPrTitle, renderReleaseDraft } from "../../src/core/render.js";
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
  it("fills the PR title template and lists every digest in the draft release", () => {
    const { cfg, p } = makePlan(
      'registry: ghcr.io/acme/platform\npr: { title: "deploy({short_sha}): {services}" }',
    );
    expect(renderPrTitle(cfg, p)).toBe("deploy(2222222): banana, mango");
    const draft = renderReleaseDraft(p, { commits: {}, date: new Date("2026-11-26T00:00:00Z") });
    expect(draft.tagName).toBe("deploy-2026-11-26-2222222");
    expect(draft.body).toMatchInlineSnapshot(`
      "Images of \`2222222\` on \`main\`: rebuild the commit and compare digests to check that a build is reproducible.

      | service | image | digest | this deploy |
      |---|---|---|---|
      | banana | \`ghcr.io/acme/platform/banana\` | \`sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\` | moved |
      | kiwi | \`ghcr.io/acme/platform/kiwi\` | \`sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\` | unchanged |
      | mango | \`ghcr.io/acme/platform/mango\` | \`sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\` | new (first pin) |

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
    const { p } = makePlan("registry: ghcr.io/acme/platform");
    const refuse = (s: (typeof p.services)[number]) =>
      s.name === "banana" || s.name === "mango"
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
    const body = renderReleaseDraft(refused, { commits: {}, date: new Date("2026-11-26T00:00:00Z") }).body;
    expect(body).not.toContain(digest("c"));
    expect(body).not.toContain(digest("d"));
    // banana keeps its pinned digest; mango had none, so it has no row.
    expect(body).toContain(
      `| banana | \`ghcr.io/acme/platform/banana\` | \`${digest("a")}\` | unverified (not pinned) |`,
    );
    expect(body).not.toContain("| mango |");
  });
});

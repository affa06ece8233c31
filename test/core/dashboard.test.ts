// The deploy dashboard's markdown, from a plan of the core fixture (banana moved, kiwi unchanged, mango
// pinned for the first time), and how a person's edits and ticked boxes are read back.
import { describe, expect, it } from "vitest";
import {
  DASHBOARD_END,
  DASHBOARD_START,
  mergeDashboard,
  readDashboard,
  renderDashboard,
  untickDashboard,
} from "../../src/core/dashboard.js";
import { discoverServices } from "../../src/core/discovery.js";
import { plan } from "../../src/core/plan.js";
import { findImages } from "../../src/jobfile/jobfile.js";
import { NEW_SHA, config, digest, fixtureFiles } from "./fixture.js";

const files = fixtureFiles();
const scanned = await Promise.all(
  [...files]
    .filter(([p]) => p.endsWith(".hcl"))
    .map(async ([path, text]) => ({ path, scan: await findImages(text) })),
);
const built = (d: string) => ({ status: "built" as const, digest: d, tag: NEW_SHA, source: `x:${NEW_SHA}` });
const cfg = config("registry: ghcr.io/acme/platform\ndashboard: true");
const fixturePlan = plan({
  config: cfg,
  build: { sha: NEW_SHA, branch: "main" },
  discovery: discoverServices(cfg, scanned),
  resolved: { banana: built(digest("c")), kiwi: built(digest("b")), mango: built(digest("d")) },
});
const BASE = "3".repeat(40);
const day1 = new Date("2026-11-20T08:00:00Z");
const day2 = new Date("2026-11-29T19:05:00Z");

describe("the deploy dashboard", () => {
  it("shows a pin by digest only (podman's style) as its digest, without an empty tag", () => {
    const byDigest = {
      ...fixturePlan,
      services: fixturePlan.services.map((s) =>
        s.name === "kiwi" ? { ...s, old: { ...s.old, tag: null, commit: null } } : s,
      ),
    };
    const { section } = renderDashboard({ plan: byDigest, base: BASE, pr: null, previous: null, now: day1 });
    expect(section).toContain("| **kiwi** | `bbbbbbbbbbbb` | — | ≤ 2026-11-20 | up to date |");
  });

  it("renders every service's pin, build commit, last move, what the PR has pending and the cluster", () => {
    const { section } = renderDashboard({
      plan: fixturePlan,
      base: BASE,
      pr: { number: 12, url: "https://github.com/acme/platform/pull/12" },
      cluster: {
        address: "https://nomad.example:4646",
        services: {
          banana: {
            running: [{ job: "banana", digest: digest("a"), status: "same" }],
            rollout: {
              job: "banana",
              version: 7,
              status: "successful",
              description: "Deployment completed successfully",
            },
          },
          kiwi: { running: [{ job: "kiwi", digest: digest("9"), status: "drift" }], rollout: null },
        },
      },
      previous: null,
      now: day1,
      repoUrl: "https://github.com/acme/platform",
    });
    expect(section).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:dashboard:start -->
      ## Deploy dashboard

      Deploy branch \`main\` at [\`3333333\`](https://github.com/acme/platform/commit/3333333333333333333333333333333333333333), last planned for build [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) on 2026-11-20 08:00 UTC.
      Open deploy PR: [#12](https://github.com/acme/platform/pull/12) (2 images to deploy).

      | service | pinned on \`main\` | built from | digest last moved | pending in [#12](https://github.com/acme/platform/pull/12) | cluster |
      |---|---|---|---|---|---|
      | **banana** | \`1111111\` \`aaaaaaaaaaaa\` | [\`1111111\`](https://github.com/acme/platform/commit/1111111111111111111111111111111111111111) | ≤ 2026-11-20 | → \`2222222\` \`cccccccccccc\` | \`aaaaaaaaaaaa\` ✅; last rollout v7 successful |
      | **kiwi** | \`1111111\` \`bbbbbbbbbbbb\` | [\`1111111\`](https://github.com/acme/platform/commit/1111111111111111111111111111111111111111) | ≤ 2026-11-20 | up to date | \`999999999999\` ⚠️ drift; no rollout yet |
      | **mango** | \`latest\` (no digest) | — | — | first pin → \`2222222\` \`dddddddddddd\` | — |

      Cluster: \`https://nomad.example:4646\`.

      <details><summary>2 job file notes</summary>

      - skipped \`nomad/broken.nomad.hcl:11\`: not valid HCL2: syntax error: incomplete (expected "}")
      - not managed \`nomad/mango.nomad.hcl:17\`: calls format(), which is not evaluated

      </details>

      ### Ask the bot

      - [ ] <!-- nomad-gitops:plan-again --> Plan again now (the deploy branch head, as if its build had just finished)
      - [ ] <!-- nomad-gitops:retag --> Retag unchanged images now (adds the \`retag\` tags to every image whose digest did not move)

      <!-- nomad-gitops:dashboard-state {"services":{"banana":{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","since":"2026-11-20T08:00:00.000Z","exact":false},"kiwi":{"digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","since":"2026-11-20T08:00:00.000Z","exact":false},"mango":{"digest":null,"since":"2026-11-20T08:00:00.000Z","exact":false}}} -->
      <!-- nomad-gitops:dashboard:end -->"
    `);
  });

  it("dates a move when the pinned digest changes, and keeps the date while it does not", () => {
    const first = renderDashboard({ plan: fixturePlan, base: BASE, pr: null, previous: null, now: day1 });
    expect(first.state.services.banana).toEqual({
      digest: digest("a"),
      since: day1.toISOString(),
      exact: false,
    });
    const same = renderDashboard({
      plan: fixturePlan,
      base: BASE,
      pr: null,
      previous: first.state,
      now: day2,
    });
    expect(same.state.services.banana).toEqual(first.state.services.banana);
    const moved = {
      ...fixturePlan,
      services: fixturePlan.services.map((s) =>
        s.name === "banana" ? { ...s, old: { ...s.old, digest: digest("c") } } : s,
      ),
    };
    const after = renderDashboard({ plan: moved, base: BASE, pr: null, previous: first.state, now: day2 });
    expect(after.state.services.banana).toEqual({
      digest: digest("c"),
      since: day2.toISOString(),
      exact: true,
    });
    expect(after.section).toContain("| 2026-11-29 |");
    // The state travels in the issue itself.
    expect(readDashboard(after.section + "\n").state).toEqual(after.state);
  });

  it("keeps a person's text around the bot's section and replaces only the section", () => {
    const { section } = renderDashboard({
      plan: fixturePlan,
      base: BASE,
      pr: null,
      previous: null,
      now: day1,
    });
    expect(mergeDashboard(null, section)).toBe(`${section}\n`);
    const edited = `Notes from the team: deploy on Tuesdays.\n\n${section}\n\n---\nOn call: @alice\n`;
    const next = renderDashboard({
      plan: fixturePlan,
      base: "4".repeat(40),
      pr: null,
      previous: null,
      now: day2,
    });
    const merged = mergeDashboard(edited, next.section);
    expect(merged.startsWith("Notes from the team: deploy on Tuesdays.\n\n" + DASHBOARD_START)).toBe(true);
    expect(merged.endsWith(`${DASHBOARD_END}\n\n---\nOn call: @alice\n`)).toBe(true);
    expect(merged).toContain("4444444");
    expect(merged).not.toContain("3333333");
    // A body without the section (a person replaced it) gets it appended, their text first.
    expect(mergeDashboard("only mine", section)).toBe(`only mine\n\n${section}\n`);
  });

  it("reads ticked boxes inside the section only, and unticks them", () => {
    const { section } = renderDashboard({
      plan: fixturePlan,
      base: BASE,
      pr: null,
      previous: null,
      now: day1,
    });
    const body = `- [x] <!-- nomad-gitops:retag --> quoted above the section\n\n${section.replace("- [ ] <!-- nomad-gitops:plan-again -->", "- [x] <!-- nomad-gitops:plan-again -->")}`;
    expect(readDashboard(body).requests).toEqual(["plan-again"]);
    const unticked = untickDashboard(body);
    expect(readDashboard(unticked).requests).toEqual([]);
    // Only the bot's boxes inside its section change.
    expect(unticked.startsWith("- [x] <!-- nomad-gitops:retag --> quoted")).toBe(true);
    expect(readDashboard("no dashboard here").present).toBe(false);
    expect(
      readDashboard(section.replace(/dashboard-state \{.*\} -->/, "dashboard-state {broken -->")).state,
    ).toBeNull();
  });
});

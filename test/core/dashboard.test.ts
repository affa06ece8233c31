// The deploy dashboard's markdown, from a plan of the core fixture (banana moved, kiwi unchanged, mango
// pinned for the first time), and how a person's edits and ticked boxes are read back.
import { describe, expect, it } from "vitest";
import {
  DASHBOARD_END,
  DASHBOARD_START,
  type FileHistory,
  lastMoves,
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
        s.name === "kiwi" ? { ...s, old: { ...s.old, tag: null } } : s,
      ),
    };
    const section = renderDashboard({ plan: byDigest, base: BASE, pr: null, now: day1 });
    expect(section).toContain("| **kiwi** | `bbbbbbbbbbbb` | `1111111` | — | up to date |");
  });

  it("[fault:dashboard-pinned-by-hand] a pin no deploy records (a person edited the line) says so, with the commit that last changed it", () => {
    // A person edited kiwi's image line: no deploy commit and no build tag names its digest.
    const byHand = {
      ...fixturePlan,
      services: fixturePlan.services.map((s) =>
        s.name === "kiwi" ? { ...s, old: { ...s.old, tag: null, commit: null } } : s,
      ),
    };
    const row = (moves?: Parameters<typeof renderDashboard>[0]["moves"]) =>
      renderDashboard({
        plan: byHand,
        base: BASE,
        pr: null,
        now: day1,
        repoUrl: "https://github.com/acme/platform",
        ...(moves ? { moves } : {}),
      })
        .split("\n")
        .find((l) => l.startsWith("| **kiwi** |"));
    const move = { sha: "6".repeat(40), date: "2026-11-02T12:00:00Z" };
    const link =
      "[`6666666`](https://github.com/acme/platform/commit/6666666666666666666666666666666666666666)";
    expect(row({ kiwi: { ...move, exact: true } })).toBe(
      `| **kiwi** | \`bbbbbbbbbbbb\` | no deploy records it; set in ${link} | 2026-11-02 ${link} | up to date |`,
    );
    // The history read ends before the digest first appeared: that commit or an older one.
    expect(row({ kiwi: { ...move, exact: false } })).toBe(
      `| **kiwi** | \`bbbbbbbbbbbb\` | no deploy records it; set in ${link} or earlier | ≤ 2026-11-02 ${link} | up to date |`,
    );
    // No history read: what is known, and nothing more.
    expect(row()).toBe("| **kiwi** | `bbbbbbbbbbbb` | no deploy records it | — | up to date |");
  });

  it("[fault:builders-awaiting] lists the services awaiting builders, with their agreement so far", () => {
    const agreement = {
      agreed: 1,
      needed: 2,
      of: 2,
      builders: [
        { builder: "rebuild", ref: `x:${NEW_SHA}-rebuild`, outcome: "agrees" as const },
        { builder: "nix", ref: `x:${NEW_SHA}-nix`, outcome: "missing" as const },
      ],
    };
    const reason = `awaiting builders (1/2, 2 needed): nix has not pushed ${NEW_SHA}-nix`;
    const waiting = {
      ...fixturePlan,
      services: fixturePlan.services.map((s) =>
        s.name === "banana" ? { ...s, status: "awaiting" as const, reason, agreement } : s,
      ),
    };
    const section = renderDashboard({ plan: waiting, base: BASE, pr: null, now: day1 });
    expect(section).toContain(`| ⏳ ${reason} |`);
    expect(section).toContain(
      "⏳ Awaiting builders: **banana** (1/2); pinned once the late builders push and agree.",
    );
    expect(renderDashboard({ plan: fixturePlan, base: BASE, pr: null, now: day1 })).not.toContain("Awaiting");
  });

  it("renders every service's pin, build commit, last move, what the PR has pending and the cluster", () => {
    const section = renderDashboard({
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
      moves: {
        banana: { sha: "5".repeat(40), date: "2026-11-18T09:30:00Z", exact: true },
        kiwi: { sha: "6".repeat(40), date: "2026-10-02T12:00:00Z", exact: false },
      },
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
      | **banana** | \`1111111\` \`aaaaaaaaaaaa\` | [\`1111111\`](https://github.com/acme/platform/commit/1111111111111111111111111111111111111111) | 2026-11-18 [\`5555555\`](https://github.com/acme/platform/commit/5555555555555555555555555555555555555555) | → \`2222222\` \`cccccccccccc\` | \`aaaaaaaaaaaa\` ✅; last rollout v7 successful |
      | **kiwi** | \`1111111\` \`bbbbbbbbbbbb\` | [\`1111111\`](https://github.com/acme/platform/commit/1111111111111111111111111111111111111111) | ≤ 2026-10-02 [\`6666666\`](https://github.com/acme/platform/commit/6666666666666666666666666666666666666666) | up to date | \`999999999999\` ⚠️ drift; no rollout yet |
      | **mango** | \`latest\` (no digest) | — | — | first pin → \`2222222\` \`dddddddddddd\` | — |

      Cluster: \`https://nomad.example:4646\`.

      <details><summary>2 job file notes</summary>

      - skipped \`nomad/broken.nomad.hcl:11\`: not valid HCL2: syntax error: incomplete (expected "}")
      - not managed \`nomad/mango.nomad.hcl:17\`: calls format(), which is not evaluated

      </details>

      ### Ask the bot

      - [ ] <!-- nomad-gitops:plan-again --> Plan again now (the deploy branch head, as if its build had just finished)
      - [ ] <!-- nomad-gitops:retag --> Retag unchanged images now (adds the \`retag\` tags to every image whose digest did not move)

      <!-- nomad-gitops:dashboard:end -->"
    `);
  });

  it("dates a digest's last move from the job file's history: the oldest commit of the run that pins it", () => {
    const banana = fixturePlan.services.find((s) => s.name === "banana")!;
    const file = banana.sites[0]!.file;
    const text = files.get(file)!;
    const before = text.replace(digest("a"), digest("0"));
    const commit = (n: number) => ({ sha: String(n).repeat(40), date: `2026-11-1${n}T10:00:00Z` });
    // Newest first: 5 (a resource change), 4 (the move to a), 3 (older digest), 2 (file created).
    const history: FileHistory = { commits: [commit(5), commit(4), commit(3), commit(2)], complete: true };
    const texts: Record<string, string> = {
      [commit(5).sha]: text,
      [commit(4).sha]: text.replace("server", "srv"),
      [commit(3).sha]: before,
      [commit(2).sha]: before,
    };
    const at = (sha: string, path: string) => (path === file ? texts[sha] : undefined);
    expect(lastMoves(fixturePlan, new Map([[file, history]]), at).banana).toEqual({
      ...commit(4),
      exact: true,
    });
    // Every commit read still pins it: the file's first commit, exact only when the history is complete.
    const always = (sha: string) => (sha === commit(2).sha || sha === commit(3).sha ? text : texts[sha]);
    expect(lastMoves(fixturePlan, new Map([[file, history]]), always).banana).toEqual({
      ...commit(2),
      exact: true,
    });
    expect(lastMoves(fixturePlan, new Map([[file, { ...history, complete: false }]]), always).banana).toEqual(
      { ...commit(2), exact: false },
    );
    // Texts not read past commit 4: moved then or earlier.
    const unread = (sha: string) => (sha === commit(5).sha || sha === commit(4).sha ? text : undefined);
    expect(lastMoves(fixturePlan, new Map([[file, history]]), unread).banana).toEqual({
      ...commit(4),
      exact: false,
    });
    // A service without a pinned digest, or a file whose newest text does not hold it: no date.
    expect(lastMoves(fixturePlan, new Map([[file, history]]), at).mango).toBeUndefined();
    expect(lastMoves(fixturePlan, new Map([[file, history]]), () => before).banana).toBeUndefined();
    const section = renderDashboard({
      plan: fixturePlan,
      base: BASE,
      pr: null,
      moves: lastMoves(fixturePlan, new Map([[file, history]]), at),
      now: day2,
    });
    expect(section).toMatch(/\| \*\*banana\*\* \|[^\n]*\| 2026-11-14 `4444444` \|/);
    expect(section).toMatch(/\| \*\*kiwi\*\* \|[^|]*\|[^|]*\| — \|/);
  });

  it("keeps a person's text around the bot's section and replaces only the section", () => {
    const section = renderDashboard({ plan: fixturePlan, base: BASE, pr: null, now: day1 });
    expect(mergeDashboard(null, section)).toBe(`${section}\n`);
    const edited = `Notes from the team: deploy on Tuesdays.\n\n${section}\n\n---\nOn call: @alice\n`;
    const next = renderDashboard({ plan: fixturePlan, base: "4".repeat(40), pr: null, now: day2 });
    const merged = mergeDashboard(edited, next);
    expect(merged.startsWith("Notes from the team: deploy on Tuesdays.\n\n" + DASHBOARD_START)).toBe(true);
    expect(merged.endsWith(`${DASHBOARD_END}\n\n---\nOn call: @alice\n`)).toBe(true);
    expect(merged).toContain("4444444");
    expect(merged).not.toContain("3333333");
    // A body without the section (a person replaced it) gets it appended, their text first.
    expect(mergeDashboard("only mine", section)).toBe(`only mine\n\n${section}\n`);
  });

  it("reads ticked boxes inside the section only, and unticks them", () => {
    const section = renderDashboard({ plan: fixturePlan, base: BASE, pr: null, now: day1 });
    const body = `- [x] <!-- nomad-gitops:retag --> quoted above the section\n\n${section.replace("- [ ] <!-- nomad-gitops:plan-again -->", "- [x] <!-- nomad-gitops:plan-again -->")}`;
    expect(readDashboard(body).requests).toEqual(["plan-again"]);
    const unticked = untickDashboard(body);
    expect(readDashboard(unticked).requests).toEqual([]);
    // Only the bot's boxes inside its section change.
    expect(unticked.startsWith("- [x] <!-- nomad-gitops:retag --> quoted")).toBe(true);
    expect(readDashboard("no dashboard here").present).toBe(false);
  });
});

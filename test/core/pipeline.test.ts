import { describe, expect, it } from "vitest";
import { prependReleaseNotes } from "../../src/core/release-notes.js";
import { COMMENT_MARKER } from "../../src/core/render.js";
import { runDeploy } from "../../src/core/pipeline.js";
import { MemoryRepo, NEW_SHA, OLD_SHA, TableRegistry, config, digest, fixtureFiles } from "./fixture.js";

const cfg = config(`
registry: ghcr.io/acme/platform
services:
  - { name: banana, image: ghcr.io/acme/platform/banana, paths: [services/banana/**, protos/**] }
  - { name: kiwi, image: ghcr.io/acme/platform/kiwi, paths: [services/kiwi/**] }
  - { name: mango, image: ghcr.io/acme/platform/mango, paths: [services/mango/**] }
retag: ["{sha}", deployed]
`);
const history = [
  { sha: OLD_SHA, subject: "Deploy everything", author: "Ana", files: ["services/banana/main.go"] },
  {
    sha: "3333333333333333333333333333333333333333",
    subject: "banana: peel faster",
    author: "Ben",
    files: ["services/banana/peel.go"],
  },
  {
    sha: "4444444444444444444444444444444444444444",
    subject: "docs only",
    author: "Cy",
    files: ["README.md"],
  },
  {
    sha: "5555555555555555555555555555555555555555",
    subject: "protos: add <Ripeness> field",
    author: "Di",
    files: ["protos/fruit.proto", "services/kiwi/x.go"],
  },
  { sha: NEW_SHA, subject: "kiwi: tidy", author: "Ana", files: ["services/kiwi/y.go"] },
];
// The engine's wording for the broken fixture file is its own business: only its presence is checked here.
const hclError = (text: string) => text.replace(/not valid HCL2: [^\n|]*/g, "not valid HCL2: <reason>");
const clock = { now: () => new Date("2026-11-26T12:00:00Z") };
const registryTable = () => ({
  [`ghcr.io/acme/platform/banana:${NEW_SHA}`]: digest("c"),
  [`ghcr.io/acme/platform/kiwi:${NEW_SHA}`]: digest("b"),
  [`ghcr.io/acme/platform/mango:${NEW_SHA}`]: digest("d"),
});

function repo(extra: Record<string, string> = {}) {
  const files = fixtureFiles();
  files.set(
    "RELEASES.md",
    "# Releases of the fruit platform\n\nOlder entries below.\n\n## 2026-10-01\n\nfirst\n",
  );
  for (const [k, v] of Object.entries(extra)) files.set(k, v);
  return new MemoryRepo(files, history);
}

describe("runDeploy", () => {
  it("plans, edits, writes release notes and renders everything for one build", async () => {
    const registry = new TableRegistry(registryTable());
    const r = repo();
    const result = await runDeploy({
      config: cfg,
      build: { sha: NEW_SHA, branch: "main" },
      repo: r,
      registry,
      mode: "apply",
      clock,
      repoUrl: "https://github.com/acme/platform",
    });
    expect(result.plan.counts).toEqual({
      moved: 1,
      new: 1,
      unchanged: 1,
      "not-built": 0,
      stale: 0,
      unverified: 0,
      awaiting: 0,
      error: 0,
    });
    expect(result.files.map((f) => f.path)).toEqual([
      "nomad/banana.nomad.hcl",
      "nomad/mango.nomad.hcl",
      "RELEASES.md",
    ]);
    // One tag lookup per service; the moved and the new one are proven by bytes (one GET each), the
    // moved one compared with its pin (compare: content); then only the unchanged one is retagged, and
    // only with the tag it lacks: its build tag was just read at the deployed digest.
    expect(registry.calls).toEqual([
      `digest ghcr.io/acme/platform/banana:${NEW_SHA}`,
      `digest ghcr.io/acme/platform/kiwi:${NEW_SHA}`,
      `digest ghcr.io/acme/platform/mango:${NEW_SHA}`,
      `prove ghcr.io/acme/platform/banana:${NEW_SHA}`,
      `prove ghcr.io/acme/platform/mango:${NEW_SHA}`,
      `identity ghcr.io/acme/platform/banana@${digest("a")}`,
      `retag ghcr.io/acme/platform/kiwi@${digest("b")} deployed`,
    ]);
    expect(result.registry).toMatchInlineSnapshot(`
      [
        {
          "action": "retag",
          "ref": "ghcr.io/acme/platform/kiwi@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
          "result": "created",
          "service": "kiwi",
          "tags": [
            "deployed",
          ],
        },
      ]
    `);
    expect(result.commits).toMatchInlineSnapshot(`
      {
        "banana": {
          "commits": [
            {
              "author": "Di",
              "sha": "5555555555555555555555555555555555555555",
              "subject": "protos: add <Ripeness> field",
            },
            {
              "author": "Ben",
              "sha": "3333333333333333333333333333333333333333",
              "subject": "banana: peel faster",
            },
          ],
          "ok": true,
        },
        "mango": {
          "ok": false,
          "reason": "first pin: no earlier build recorded",
        },
      }
    `);
    expect(result.files[2]!.after).toMatchInlineSnapshot(`
      "# Releases of the fruit platform

      Older entries below.

      <!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
      ## 2026-11-26 · main @ [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      ### banana

      \`ghcr.io/acme/platform/banana\`: \`aaaaaaaaaaaa\` → \`cccccccccccc\` (tag \`2222222222222222222222222222222222222222\`)

      - [\`5555555\`](https://github.com/acme/platform/commit/5555555555555555555555555555555555555555) protos: add &lt;Ripeness&gt; field (Di)
      - [\`3333333\`](https://github.com/acme/platform/commit/3333333333333333333333333333333333333333) banana: peel faster (Ben)

      ### mango

      \`ghcr.io/acme/platform/mango\`: not pinned → \`dddddddddddd\` (tag \`2222222222222222222222222222222222222222\`)

      _first pin: no earlier build recorded_

      ## 2026-10-01

      first
      "
    `);
    expect(result.prTitle).toBe("Deploy banana, mango");
    expect(hclError(result.comment)).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:images -->
      ### 2 images changed for [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | \`aaaaaaaaaaaa\` → \`cccccccccccc\` | \`2222222222222222222222222222222222222222\` | \`nomad/banana.nomad.hcl\` | 2 |
      | mango | _new_ → \`dddddddddddd\` | \`2222222222222222222222222222222222222222\` | \`nomad/mango.nomad.hcl\` | — |

      <details><summary>1 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | kiwi | \`bbbbbbbbbbbb\` | \`nomad/kiwi.nomad.hcl\` |

      </details>

      **Not deployed**

      - \`nomad/broken.nomad.hcl:11\` skipped: not valid HCL2: <reason>
      "
    `);
    expect(hclError(result.prBody)).toMatchInlineSnapshot(`
      "Pins 2 images built from [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222) on \`main\`: only the services whose digest moved.

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | \`aaaaaaaaaaaa\` → \`cccccccccccc\` | \`2222222222222222222222222222222222222222\` | \`nomad/banana.nomad.hcl\` | 2 |
      | mango | _new_ → \`dddddddddddd\` | \`2222222222222222222222222222222222222222\` | \`nomad/mango.nomad.hcl\` | — |

      <details><summary>1 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | kiwi | \`bbbbbbbbbbbb\` | \`nomad/kiwi.nomad.hcl\` |

      </details>

      **Not deployed**

      - \`nomad/broken.nomad.hcl:11\` skipped: not valid HCL2: <reason>

      ## 2026-11-26 · main @ [\`2222222\`](https://github.com/acme/platform/commit/2222222222222222222222222222222222222222)

      ### banana

      \`ghcr.io/acme/platform/banana\`: \`aaaaaaaaaaaa\` → \`cccccccccccc\` (tag \`2222222222222222222222222222222222222222\`)

      - [\`5555555\`](https://github.com/acme/platform/commit/5555555555555555555555555555555555555555) protos: add &lt;Ripeness&gt; field (Di)
      - [\`3333333\`](https://github.com/acme/platform/commit/3333333333333333333333333333333333333333) banana: peel faster (Ben)

      ### mango

      \`ghcr.io/acme/platform/mango\`: not pinned → \`dddddddddddd\` (tag \`2222222222222222222222222222222222222222\`)

      _first pin: no earlier build recorded_

      ---
      _Written by nomad-gitops-bot._ <!-- nomad-gitops:build 2222222222222222222222222222222222222222 -->
      "
    `);
    expect({ ...result.check, summary: hclError(result.check.summary) }).toMatchInlineSnapshot(`
      {
        "conclusion": "failure",
        "summary": "Build \`2222222\` on \`main\`, tag \`2222222222222222222222222222222222222222\`.

      | service | status | digest | note |
      |---|---|---|---|
      | banana | moved | \`aaaaaaaaaaaa\` → \`cccccccccccc\` |  |
      | kiwi | unchanged | \`bbbbbbbbbbbb\` |  |
      | mango | new (first pin) | — → \`dddddddddddd\` |  |

      **Not deployed**

      - \`nomad/broken.nomad.hcl:11\` skipped: not valid HCL2: <reason>
      ",
        "title": "1 moved, 1 new, 1 unchanged, 1 job file skipped",
      }
    `);
  });

  it("plan mode touches nothing in the registry and reports a failing registry per service", async () => {
    const registry = new TableRegistry(registryTable(), ["ghcr.io/acme/platform/kiwi"]);
    const result = await runDeploy({
      config: cfg,
      build: { sha: NEW_SHA, branch: "main" },
      repo: repo(),
      registry,
      mode: "plan",
      clock,
    });
    expect(registry.calls.filter((c) => c.startsWith("retag"))).toEqual([]);
    expect(result.plan.services.map((s) => [s.name, s.status, s.reason ?? ""])).toMatchInlineSnapshot(`
      [
        [
          "banana",
          "moved",
          "",
        ],
        [
          "kiwi",
          "error",
          "ghcr.io/acme/platform/kiwi:2222222222222222222222222222222222222222: registry answered 503 Service Unavailable",
        ],
        [
          "mango",
          "new",
          "",
        ],
      ]
    `);
    expect(result.check.conclusion).toBe("failure");
    expect(result.check.title).toBe("1 moved, 1 new, 0 unchanged, 1 error, 1 job file skipped");
  });

  it("skips a job file that cannot be read as text, with the reason, and plans the others", async () => {
    const r = repo();
    const read = r.readFiles.bind(r);
    r.readFiles = async (paths: string[]) => {
      const out = await read(paths);
      if (out.has("nomad/kiwi.nomad.hcl"))
        out.set("nomad/kiwi.nomad.hcl", { unreadable: "a binary file, not text" });
      return out;
    };
    const result = await runDeploy({
      config: cfg,
      build: { sha: NEW_SHA, branch: "main" },
      repo: r,
      registry: new TableRegistry(registryTable()),
      mode: "plan",
      clock,
    });
    expect(result.plan.fileErrors).toContainEqual({
      file: "nomad/kiwi.nomad.hcl",
      error: "a binary file, not text",
      line: null,
    });
    expect(Object.fromEntries(result.plan.services.map((s) => [s.name, s.status]))).toEqual({
      banana: "moved",
      kiwi: "error",
      mango: "new",
    });
  });

  it("changes nothing when no digest moved, and skips a build older than the base", async () => {
    const registry = new TableRegistry({
      [`ghcr.io/acme/platform/banana:${NEW_SHA}`]: digest("a"),
      [`ghcr.io/acme/platform/kiwi:${NEW_SHA}`]: digest("b"),
    });
    const cfg2 = config(`
services:
  - { name: banana, image: ghcr.io/acme/platform/banana }
  - { name: kiwi, image: ghcr.io/acme/platform/kiwi }
`);
    const same = await runDeploy({
      config: cfg2,
      build: { sha: NEW_SHA, branch: "main" },
      repo: repo(),
      registry,
      mode: "plan",
      clock,
    });
    expect(same.files).toEqual([]);
    expect(same.releaseNotes).toBe("");
    expect(hclError(same.comment)).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:images -->
      ### 0 images changed for \`2222222\`

      _No image moved._

      <details><summary>2 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | banana | \`aaaaaaaaaaaa\` | \`nomad/banana.nomad.hcl\` |
      | kiwi | \`bbbbbbbbbbbb\` | \`nomad/kiwi.nomad.hcl\` |

      </details>

      **Not deployed**

      - \`nomad/broken.nomad.hcl:11\` skipped: not valid HCL2: <reason>
      "
    `);

    const moved = new TableRegistry({ ...registryTable() });
    const old = await runDeploy({
      config: cfg,
      build: { sha: "3333333333333333333333333333333333333333", branch: "main" },
      repo: repo(),
      registry: moved,
      mode: "apply",
      base: NEW_SHA,
      clock,
    });
    expect(old.skipped).toBe("build 3333333 is older than 2222222: skipped, nothing changes");
    expect(old.files).toEqual([]);
    expect(moved.calls.some((c) => c.startsWith("retag"))).toBe(false);
  });
});

describe("reproducibility", () => {
  it("flags a digest that moved although no commit touched the service's paths", async () => {
    const registry = new TableRegistry({
      ...registryTable(),
      [`ghcr.io/acme/platform/kiwi:${NEW_SHA}`]: digest("9"),
    });
    const quiet = config(`
services:
  - { name: kiwi, image: ghcr.io/acme/platform/kiwi, paths: [services/kiwi/vendor/**] }
`);
    const result = await runDeploy({
      config: quiet,
      build: { sha: NEW_SHA, branch: "main" },
      repo: repo(),
      registry,
      mode: "plan",
      clock,
    });
    expect(result.commits).toEqual({ kiwi: { ok: true, commits: [] } });
    expect(result.plan.services[0]).toMatchObject({
      status: "moved",
      reason: "digest moved although no commit touched its paths: the build may not be reproducible",
    });
    expect(result.releaseNotes).toContain("> digest moved although no commit touched its paths");
  });
});

describe("--images registry references", () => {
  it("pins a digest-only reference and creates its build tag on apply", async () => {
    const registry = new TableRegistry({
      [`ghcr.io/acme/platform/banana@${digest("e")}`]: digest("e"),
      [`ghcr.io/acme/platform/kiwi:v7`]: digest("f"),
    });
    const images = {
      sources: {
        banana: `ghcr.io/acme/platform/banana@${digest("e")}`,
        kiwi: "ghcr.io/acme/platform/kiwi:v7",
        mango: "ghcr.io/acme/staging/mango:v1",
      },
      port: {
        sameImage: () => Promise.reject(new Error("registry references are compared by digest")),
        localDigest: () => Promise.reject(new Error("registry references are not read as archives")),
        push: () => Promise.reject(new Error("same repository: nothing to copy")),
      },
    };
    const result = await runDeploy({
      config: cfg,
      build: { sha: NEW_SHA, branch: "main" },
      repo: repo(),
      registry,
      mode: "apply",
      images,
      clock,
    });
    expect(result.plan.services.map((s) => [s.name, s.status, s.next?.tag, s.reason ?? ""])).toEqual([
      ["banana", "moved", NEW_SHA, ""],
      ["kiwi", "moved", "v7", ""],
      [
        "mango",
        "error",
        undefined,
        "--images: ghcr.io/acme/staging/mango:v1 is not in ghcr.io/acme/platform/mango; push it there or give an archive",
      ],
    ]);
    // Only banana's build tag is missing from the registry; kiwi's ref already is image:tag.
    expect(registry.calls.filter((c) => c.startsWith("retag"))).toEqual([
      `retag ghcr.io/acme/platform/banana@${digest("e")} ${NEW_SHA}`,
    ]);
    // The pin itself names no tag (the default `pin: digest`); the tags above are in the registry.
    expect(result.files.find((f) => f.path === "nomad/kiwi.nomad.hcl")?.after).toContain(
      `"ghcr.io/acme/platform/kiwi@${digest("f")}"`,
    );
  });
});

describe("release notes file", () => {
  it("prepends below the title, replaces its own section on a re-run, and starts a missing file", () => {
    const section = `<!-- nomad-gitops:release ${NEW_SHA} -->\n## 2026-11-26\n\nnew\n`;
    const once = prependReleaseNotes("# Releases\n\nintro\n", section, NEW_SHA);
    expect(once).toMatchInlineSnapshot(`
      "# Releases

      intro

      <!-- nomad-gitops:release 2222222222222222222222222222222222222222 -->
      ## 2026-11-26

      new
      "
    `);
    expect(prependReleaseNotes(once, section.replace("new", "newer"), NEW_SHA)).toBe(
      once.replace("\nnew\n", "\nnewer\n"),
    );
    const older = "# R\n\n## 2026-01-01\n\nold\n";
    expect(prependReleaseNotes(older, section, NEW_SHA)).toBe(`# R\n\n${section}\n## 2026-01-01\n\nold\n`);
    expect(prependReleaseNotes(null, section, NEW_SHA)).toBe(`# Releases\n\n${section}`);
    expect(prependReleaseNotes("no title\n", section, NEW_SHA)).toBe(`${section}\nno title\n`);
  });
});

describe("comment marker", () => {
  // --images source parsing moved to test/image/source.test.ts with the grammar.
  it("is stable (existing comments are found by it)", () => {
    expect(COMMENT_MARKER).toBe("<!-- nomad-gitops:images -->");
  });
});

import { readFileSync } from "node:fs";
import { createTwoFilesPatch } from "diff";
import { describe, expect, it } from "vitest";
import { analyzeJobFile, findImages } from "../../src/jobfile/jobfile.js";
import { JobFileError, type PinOutcome, PinVerificationError, pinImages } from "../../src/jobfile/pin.js";
import { verifyPin } from "../../src/jobfile/verify.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8");
const D1 = `sha256:${"d1".repeat(32)}`;
const D2 = `sha256:${"e2".repeat(32)}`;

/** The change as a reviewer would see it, plus what was skipped. */
function show(before: string, out: PinOutcome): string {
  const diff = createTwoFilesPatch("a", "b", before, out.text, undefined, undefined, { context: 0 })
    .split("\n")
    .filter((l) => /^[-+](?![-+])/.test(l))
    .join("\n");
  const skipped = out.skipped.map((s) => `skipped ${s.line} ${s.repository}: ${s.reason}`);
  return [diff, ...skipped].join("\n");
}

describe("pinImages", () => {
  it("pins literals in place, matching any spelling of the repository and replacing an existing digest", async () => {
    const before = fixture("sites.nomad.hcl");
    const out = await pinImages(
      before,
      [
        { repository: "ghcr.io/acme/shop/frontend", digest: D1 },
        { repository: "docker.io/envoyproxy/envoy", digest: D2 },
        { repository: "index.docker.io/library/postgres", digest: D1 },
        { repository: "localhost:5000/acme/worker", digest: D2, tag: "2024.02" },
      ],
      { style: "tag+digest" },
    );
    expect(show(before, out)).toMatchInlineSnapshot(`
      "-            image = "envoyproxy/envoy:v1.29.0"
      +            image = "envoyproxy/envoy:v1.29.0@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
      -        image = "ghcr.io/acme/shop/frontend:1.4.2"
      +        image = "ghcr.io/acme/shop/frontend:1.4.2@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
      -          image = "localhost:5000/acme/worker:2024.01"
      +          image = "localhost:5000/acme/worker:2024.02@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
      -        image = "postgres:16@sha256:1111111111111111111111111111111111111111111111111111111111111111"
      +        image = "postgres:16@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1""
    `);
    expect(out.edits.map((e) => `${e.line} ${e.job}/${e.group}/${e.task} ${e.via}`)).toMatchInlineSnapshot(`
      [
        "21 shop/web/connect-proxy-storefront literal",
        "31 shop/web/frontend literal",
        "68 shop/web/null literal",
        "79 shop/db/postgres literal",
      ]
    `);
  });

  it("edits the variable default or local a site resolves to, and leaves shared ones alone", async () => {
    const before = fixture("variables.nomad.hcl");
    const out = await pinImages(
      before,
      [
        { repository: "ghcr.io/acme/api", digest: D1 },
        { repository: "docker://ghcr.io/acme/worker", digest: D2 },
        { repository: "traefik", digest: D1 },
        { repository: "registry.example.com:5000/cache", digest: D2 },
        { repository: "redis", digest: D1 },
        { repository: "alpine", digest: D2 },
      ],
      { style: "tag+digest" },
    );
    expect(show(before, out)).toMatchInlineSnapshot(`
      "-  default = "ghcr.io/acme/api:3f2a9c1"
      +  default = "ghcr.io/acme/api:3f2a9c1@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
      -  default = "1.2.3"
      +  default = "1.2.3@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
      -  default = "7.2"
      +  default = "7.2@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
      -  proxy_image = "traefik:v3.1"
      +  proxy_image = "traefik:v3.1@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
      -        image = "\${local.cache_repo}:9"
      +        image = "\${local.cache_repo}:9@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
      -        image = "alpine\\u003a3.20"
      +        image = "alpine:3.20@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2""
    `);
    const after = await findImages(out.text);
    expect(after.ok && after.images.filter((s) => s.managed).map((s) => s.reference)).toMatchInlineSnapshot(`
      [
        "ghcr.io/acme/api:3f2a9c1@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "docker://ghcr.io/acme/worker:1.2.3@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2",
        "traefik:v3.1@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "registry.example.com:5000/cache:9@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2",
        "redis:7.2@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "redis:7.2@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "alpine:3.20@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2",
      ]
    `);
  });

  it("edits the map or list element an image comes from, and the line of a one-line heredoc, which stays a heredoc", async () => {
    const before = fixture("collections.nomad.hcl");
    const out = await pinImages(
      before,
      [
        { repository: "ghcr.io/acme/api", digest: D1 },
        { repository: "ghcr.io/acme/jobs", digest: D2 },
        { repository: "grafana/alloy", digest: D1 },
        { repository: "registry.example.com/cache", digest: D2 },
        { repository: "envoyproxy/envoy", digest: D2 },
        { repository: "redis", digest: D1 },
      ],
      { style: "tag+digest" },
    );
    expect(show(before, out)).toMatchInlineSnapshot(`
      "-    api    = "ghcr.io/acme/api:5.0"
      -    "jobs" = "ghcr.io/acme/jobs:5.0"
      +    api    = "ghcr.io/acme/api:5.0@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
      +    "jobs" = "ghcr.io/acme/jobs:5.0@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2"
      -  sidecars = ["envoyproxy/envoy:v1.29.0", "grafana/alloy:v1.4.0"]
      +  sidecars = ["envoyproxy/envoy:v1.29.0", "grafana/alloy:v1.4.0@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"]
      -          redis:7
      +          redis:7@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1
      skipped 44 registry.example.com/cache: var.mirrors.cache is also read outside image sites (1 other reference to it or to what holds it in this file); editing it would change them too"
    `);
  });

  it("keeps every byte outside the edited literal: CRLF, tabs, non-ASCII, no final newline (podman → digest)", async () => {
    const before = fixture("crlf-tabs.nomad.hcl");
    const out = await pinImages(before, [{ repository: "quay.io/acme/edge", digest: D1 }]);
    const old = '"docker://quay.io/acme/edge:2.0"';
    expect(out.text).toBe(before.replace(old, `"docker://quay.io/acme/edge@${D1}"`));
    expect(out.text.split("\r\n").length).toBe(before.split("\r\n").length);
    expect(out.text.endsWith("}")).toBe(true);
    expect(Buffer.byteLength(out.text) - Buffer.byteLength(before)).toBe(D1.length + 1 - ":2.0".length);
  });

  it("the config's pins never give podman tag+digest (containers/image refuses both); `pin --style` writes what it is asked", async () => {
    const before = fixture("crlf-tabs.nomad.hcl");
    const target = [{ repository: "quay.io/acme/edge", digest: D1, tag: "1.0" }];
    const configured = await pinImages(before, target, { style: "tag+digest", podmanDigest: true });
    expect(configured.edits.map((e) => e.after)).toEqual([`docker://quay.io/acme/edge@${D1}`]);
    const asked = await pinImages(before, target, { style: "tag+digest" });
    expect(asked.edits.map((e) => e.after)).toEqual([`docker://quay.io/acme/edge:1.0@${D1}`]);
  });

  it("pins by digest by default: Nomad's Docker driver pulls a tag+digest pin by its tag", async () => {
    const before = fixture("sites.nomad.hcl");
    const targets = [
      { repository: "ghcr.io/acme/shop/frontend", digest: D1 },
      { repository: "localhost:5000/acme/worker", digest: D2, tag: "2024.02" },
    ];
    const out = await pinImages(before, targets);
    expect(out.edits.map((e) => `${e.before} -> ${e.after}`)).toEqual([
      `ghcr.io/acme/shop/frontend:1.4.2 -> ghcr.io/acme/shop/frontend@${D1}`,
      `localhost:5000/acme/worker:2024.01 -> localhost:5000/acme/worker@${D2}`,
    ]);
    // The same targets asked in tag+digest style keep (or set) the tag: the default is not that style.
    const tagged = await pinImages(before, targets, { style: "tag+digest" });
    expect(tagged.edits.map((e) => e.after)).toEqual([
      `ghcr.io/acme/shop/frontend:1.4.2@${D1}`,
      `localhost:5000/acme/worker:2024.02@${D2}`,
    ]);
  });

  it("pins by digest when asked, except where only the tag is editable (`repo:${var.tag}` keeps its tag)", async () => {
    const before = fixture("variables.nomad.hcl");
    const out = await pinImages(
      before,
      [
        { repository: "ghcr.io/acme/api", digest: D1 },
        { repository: "ghcr.io/acme/worker", digest: D2 },
      ],
      { style: "digest" },
    );
    expect(out.edits.map((e) => `${e.line}: ${e.before} -> ${e.after}`)).toMatchInlineSnapshot(`
      [
        "33: ghcr.io/acme/api:3f2a9c1 -> ghcr.io/acme/api@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1",
        "40: docker://ghcr.io/acme/worker:1.2.3 -> docker://ghcr.io/acme/worker:1.2.3@sha256:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2",
      ]
    `);
  });

  it("keeps a byte order mark, and edits the literal tail of a local's template", async () => {
    const before = [
      "\uFEFF# BOM first",
      'variable "repo" { default = "ghcr.io/acme/b" }',
      'locals { img = "${var.repo}:1.0" }',
      'job "j" {',
      '  group "g" {',
      '    task "t" {',
      "      config {",
      "        image = local.img",
      "      }",
      "    }",
      "  }",
      "}",
    ].join("\n");
    const out = await pinImages(before, [{ repository: "ghcr.io/acme/b", digest: D1 }], { style: "digest" });
    expect(out.text.startsWith("\uFEFF# BOM first\n")).toBe(true);
    expect(show(before, out)).toMatchInlineSnapshot(`
      "-locals { img = "\${var.repo}:1.0" }
      +locals { img = "\${var.repo}@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1" }"
    `);
  });

  it("is idempotent and leaves files without matching images untouched", async () => {
    const before = fixture("sites.nomad.hcl");
    const targets = [{ repository: "ghcr.io/acme/shop/frontend", digest: D1 }];
    const once = await pinImages(before, targets);
    const twice = await pinImages(once.text, targets);
    expect(twice).toEqual({ text: once.text, edits: [], skipped: [], varFiles: new Map() });
    expect(await pinImages(before, [{ repository: "ghcr.io/other/thing", digest: D1 }])).toEqual({
      text: before,
      edits: [],
      skipped: [],
      varFiles: new Map(),
    });
  });

  it("refuses invalid HCL2 with a JobFileError that has the line", async () => {
    const error = await pinImages(fixture("hcl1-syntax.nomad"), [{ repository: "redis", digest: D1 }]).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(JobFileError);
    expect({ line: error.line, message: error.message }).toMatchInlineSnapshot(`
      {
        "line": 9,
        "message": "not valid HCL2: syntax error near ","",
      }
    `);
  });

  it.each([
    [{ repository: "redis", digest: "sha256:abc" }, /not a digest/],
    [{ repository: "https://x/y", digest: D1 }, /not a repository/],
    [{ repository: "redis", digest: D1, tag: "-bad" }, /not a tag/],
  ])("refuses a malformed target %o", async (target, error) => {
    await expect(pinImages(fixture("sites.nomad.hcl"), [target])).rejects.toThrow(error);
  });
});

describe("verifyPin", () => {
  /** The fixture with its frontend image pinned by one splice: the edit verifyPin is asked to accept. */
  async function setup() {
    const before = fixture("sites.nomad.hcl");
    const analysis = await analyzeJobFile(before);
    if (!analysis.ok) throw new Error("fixture must parse");
    const site = analysis.sites.find((s) => s.task === "frontend")!;
    const to = `ghcr.io/acme/shop/frontend:1.4.2@${D1}`;
    const splice = { start: site.edit!.start, end: site.edit!.end, from: site.edit!.text, to };
    const after = before.slice(0, splice.start) + to + before.slice(splice.end);
    return { before, after, analysis, site, splice, to };
  }
  type Setup = Awaited<ReturnType<typeof setup>>;
  type VerifyInput = Parameters<typeof verifyPin>[0];

  /** verifyPin on the setup's edit, with some of its inputs changed. */
  function verify(s: Setup, change: (s: Setup) => Partial<VerifyInput> = () => ({})) {
    return verifyPin({
      before: s.before,
      after: s.after,
      sites: s.analysis.sites,
      semantic: s.analysis.semantic,
      expected: new Map([[s.site, s.to]]),
      splices: [s.splice],
      ...change(s),
    });
  }

  it("accepts exactly the intended edit", async () => {
    await expect(verify(await setup())).resolves.toBeUndefined();
  });

  it.each<[string, (s: Setup) => Partial<VerifyInput>, RegExp | typeof PinVerificationError]>([
    [
      "a change outside the edited literal, even in a comment",
      (s) => ({ after: s.after.replace("commented/out:3", "commented/out:4") }),
      PinVerificationError,
    ],
    [
      "an edit hcl2-parser reads differently from what was declared",
      // A declared splice of a meta string that is not an image: the sites agree, HashiCorp's reading does not.
      (s) => {
        const start = s.before.indexOf("meta/not-an-image:1");
        const end = start + "meta/not-an-image:1".length;
        return {
          after: s.before.slice(0, start) + "meta/changed:2" + s.before.slice(end),
          expected: new Map(),
          splices: [{ start, end, from: "meta/not-an-image:1", to: "meta/changed:1" }],
        };
      },
      PinVerificationError,
    ],
    ["overlapping edits", (s) => ({ splices: [s.splice, s.splice] }), /overlap/],
  ])("rejects %s", async (_, change, error) => {
    await expect(verify(await setup(), change)).rejects.toThrow(error);
  });

  it("rejects an edit whose site does not end up with the intended value", async () => {
    const error = await verify(await setup(), (s) => ({
      expected: new Map([[s.site, `ghcr.io/acme/shop/frontend@${D1}`]]),
    })).catch((e) => e);
    expect(error).toBeInstanceOf(PinVerificationError);
    expect({ line: error.line, message: error.message }).toMatchInlineSnapshot(`
      {
        "line": 31,
        "message": "pin verification failed: image is "ghcr.io/acme/shop/frontend:1.4.2@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1", expected "ghcr.io/acme/shop/frontend@sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"",
      }
    `);
  });
});

describe("pinning from the scan's reading", () => {
  const job = (image: string, extra = "") => `job "web" {
  group "web" {
    task "web" {
      driver = "docker"
      config {
        image = "${image}"
      }${extra}
    }
  }
}
`;
  const target = [{ repository: "ghcr.io/acme/web", digest: D1 }];

  it("starts from what tree-sitter found: only the referee reads the file again, and the pin is the same", async () => {
    const text = job("ghcr.io/acme/web:1.0");
    const analysis = await analyzeJobFile(text, { strict: false });
    const strict = await analyzeJobFile(text, { read: { text, analysis } });
    expect(strict.ok && analysis.ok && strict.sites).toBe(analysis.ok && analysis.sites);
    expect(strict).toEqual(await analyzeJobFile(text));
    expect(await pinImages(text, target, { read: { text, analysis } })).toEqual(
      await pinImages(text, target),
    );
  });

  it("reads the file itself when the reading is of another text, or it has var files", async () => {
    const text = job("ghcr.io/acme/web:1.0");
    const other = job("ghcr.io/acme/web:0.9");
    const analysis = await analyzeJobFile(other, { strict: false });
    const strict = await analyzeJobFile(text, { read: { text: other, analysis } });
    expect(strict.ok && strict.sites.map((s) => s.reference)).toEqual(["ghcr.io/acme/web:1.0"]);
    const out = await pinImages(text, target, { read: { text: other, analysis } });
    expect(out.text).toBe(job(`ghcr.io/acme/web@${D1}`));
    // With a var file, the scan kept no reading; one given anyway is not used.
    const own = await analyzeJobFile(text, { strict: false });
    const varFiles = [{ path: "web.vars.hcl", text: 'x = "1"\n' }];
    const withVars = await analyzeJobFile(text, { varFiles, read: { text, analysis: own } });
    expect(withVars.ok && own.ok && withVars.sites).not.toBe(own.ok && own.sites);
    expect(withVars.ok && withVars.varSemantics.get("web.vars.hcl")).toEqual({ x: "1" });
  });

  it("still says where a file HashiCorp's parser refuses is wrong", async () => {
    // tree-sitter reads an attribute set twice; HashiCorp's parser does not.
    const text = job("ghcr.io/acme/web:1.0", '\n      driver = "exec"');
    const analysis = await analyzeJobFile(text, { strict: false });
    expect(analysis.ok).toBe(true);
    const refused = await analyzeJobFile(text, { read: { text, analysis } });
    expect(refused).toEqual(await analyzeJobFile(text));
    expect(refused).toMatchObject({ ok: false, line: 8 });
    await expect(pinImages(text, target, { read: { text, analysis } })).rejects.toThrow(JobFileError);
  });
});

import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { writeDockerArchive } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let repo: GitFixture;

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
});
afterAll(async () => {
  registry?.intercept(null);
  await repo?.remove();
  await registry?.stop();
});

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};
const mask = (text: string, ...shas: string[]) => {
  let out = text.replaceAll(registry.host, "<registry>");
  shas.forEach(
    (sha, i) => (out = out.replaceAll(sha, `<sha${i + 1}>`).replaceAll(sha.slice(0, 7), `<short${i + 1}>`)),
  );
  return out.replace(/\d{4}-\d{2}-\d{2}/g, "<date>");
};
/** Requests that move bytes into the registry (blob uploads, manifest PUTs). */
const writes = () =>
  registry.requests().filter((r) => r.method === "PUT" || r.method === "POST" || r.method === "PATCH");

// The scenarios build on each other, as deploys of one repository do.
describe("apply", () => {
  let first: string;

  it("first run: pins every service, writes release notes, and a second run changes nothing", async () => {
    first = await repo.git("rev-parse", "HEAD");
    const digests = await repo.build(first);
    const out = await run("apply");
    expect(out.code).toBe(0);
    // The default `pin: digest`: no tag next to the digest (Nomad's Docker driver would pull the tag).
    expect(await repo.read("nomad/banana.nomad.hcl")).toContain(
      `image = "${registry.host}/acme/banana@${digests.banana}"`,
    );
    // podman cannot take tag and digest: digest only, prefix kept.
    expect(await repo.read("nomad/mango.nomad.hcl")).toContain(
      `image = "docker://${registry.host}/acme/mango@${digests.mango}"`,
    );
    expect(mask(out.stdout, first)).toMatchInlineSnapshot(`
      "build <short1> (main), tag <sha1>
        banana  new  → ec311a13c9f7  nomad/banana.nomad.hcl
        kiwi    new  → 923a0ece7cac  nomad/kiwi.nomad.hcl
        mango   new  → 861b04b87bfb  nomad/mango.nomad.hcl
      0 moved, 3 new, 0 unchanged, 0 not built, 0 older builds, 0 errors
      wrote nomad/banana.nomad.hcl
      wrote nomad/kiwi.nomad.hcl
      wrote nomad/mango.nomad.hcl
      wrote RELEASES.md

      --- PR: Deploy banana, kiwi, mango

      Pins 3 images built from \`<short1>\` on \`main\`: only the services whose digest moved.

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | _new_ → \`ec311a13c9f7\` | \`<sha1>\` | \`nomad/banana.nomad.hcl\` | — |
      | kiwi | _new_ → \`923a0ece7cac\` | \`<sha1>\` | \`nomad/kiwi.nomad.hcl\` | — |
      | mango | _new_ → \`861b04b87bfb\` | \`<sha1>\` | \`nomad/mango.nomad.hcl\` | — |

      ## <date> · main @ \`<short1>\`

      ### banana

      \`<registry>/acme/banana\`: not pinned → \`ec311a13c9f7\` (tag \`<sha1>\`)

      _first pin: no earlier build recorded_

      ### kiwi

      \`<registry>/acme/kiwi\`: not pinned → \`923a0ece7cac\` (tag \`<sha1>\`)

      _first pin: no earlier build recorded_

      ### mango

      \`<registry>/acme/mango\`: not pinned → \`861b04b87bfb\` (tag \`<sha1>\`)

      _first pin: no earlier build recorded_

      ---
      _Written by nomad-gitops-bot._ <!-- nomad-gitops:build <sha1> -->

      --- image comment

      <!-- nomad-gitops:images -->
      ### 3 images changed for \`<short1>\`

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | _new_ → \`ec311a13c9f7\` | \`<sha1>\` | \`nomad/banana.nomad.hcl\` | — |
      | kiwi | _new_ → \`923a0ece7cac\` | \`<sha1>\` | \`nomad/kiwi.nomad.hcl\` | — |
      | mango | _new_ → \`861b04b87bfb\` | \`<sha1>\` | \`nomad/mango.nomad.hcl\` | — |
      "
    `);

    const again = await run("apply", "--json");
    expect(again.code).toBe(0);
    const data = JSON.parse(again.stdout) as {
      counts: Record<string, number>;
      files: string[];
      commit: unknown;
    };
    expect(data.counts).toMatchObject({ unchanged: 3, moved: 0, new: 0, error: 0 });
    expect(data.files).toEqual([]);
    expect(data.commit).toBeNull();
  });

  it("one changed: moves one service, retags the others without moving a blob, commits on a branch", async () => {
    const pinned = await repo.commit("Pin images");
    await repo.write("services/banana/main.txt", "banana v2\n");
    const v2 = await repo.commit("banana: v2");
    await repo.write("README.md", "docs\n");
    const second = await repo.commit("docs");
    await repo.build(second);
    registry.clearRequests();

    const out = await run("apply", "--commit", "nomad-gitops/deploy", "--json");
    expect(out.code).toBe(0);
    const data = JSON.parse(out.stdout) as {
      services: Array<{ name: string; status: string; commits?: unknown }>;
      files: string[];
      registry: unknown;
      commit: { branch: string; sha: string };
      comment: string;
      releaseNotes: string;
    };
    expect(data.services.map((s) => `${s.name} ${s.status}`)).toEqual([
      "banana moved",
      "kiwi unchanged",
      "mango unchanged",
    ]);
    expect(data.files).toEqual(["nomad/banana.nomad.hcl", "RELEASES.md"]);
    // The unchanged already carry the build's tag: one HEAD each, nothing written.
    expect(writes()).toEqual([]);
    expect(mask(JSON.stringify(data.registry), second)).toMatchInlineSnapshot(`"[]"`);
    // Release notes: the commits touching banana's paths since the pinned commit, not the docs one.
    expect(mask(data.releaseNotes, second, v2)).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:release <sha1> -->
      ## <date> · main @ \`<short1>\`

      ### banana

      \`<registry>/acme/banana\`: \`ec311a13c9f7\` → \`cc2161c8c410\` (tag \`<sha1>\`)

      - \`<short2>\` banana: v2 (Test Author)
      "
    `);
    expect(mask(data.comment, second, first)).toMatchInlineSnapshot(`
      "<!-- nomad-gitops:images -->
      ### 1 image changed for \`<short1>\`

      | service | digest | tag | job files | commits |
      |---|---|---|---|---|
      | banana | \`ec311a13c9f7\` → \`cc2161c8c410\` | \`<sha1>\` | \`nomad/banana.nomad.hcl\` | 1 |

      <details><summary>2 unchanged</summary>

      | service | digest | job files |
      |---|---|---|
      | kiwi | \`923a0ece7cac\` | \`nomad/kiwi.nomad.hcl\` |
      | mango | \`861b04b87bfb\` | \`nomad/mango.nomad.hcl\` |

      </details>
      "
    `);

    // The branch holds one commit on top of HEAD with exactly the two files; the checkout is untouched.
    expect(await repo.git("rev-parse", `${data.commit.sha}^`)).toBe(second);
    expect(await repo.git("diff", "--name-only", second, data.commit.sha)).toBe(
      "RELEASES.md\nnomad/banana.nomad.hcl",
    );
    expect(await repo.git("rev-parse", "nomad-gitops/deploy")).toBe(data.commit.sha);
    expect(await repo.git("symbolic-ref", "--short", "HEAD")).toBe("main");
    expect(await repo.git("status", "--porcelain")).toBe(" M RELEASES.md\n M nomad/banana.nomad.hcl");
    expect(pinned).not.toBe(second);
    await repo.commit("Deploy banana");
  });

  it("none changed: nothing written, nothing committed", async () => {
    await repo.write("README.md", "more docs\n");
    const third = await repo.commit("more docs");
    await repo.build(third);
    const out = await run("apply", "--commit", "nomad-gitops/deploy");
    expect(out.code).toBe(0);
    expect(mask(out.stdout, third)).toMatchInlineSnapshot(`
      "build <short1> (main), tag <sha1>
        banana  unchanged  cc2161c8c410
        kiwi    unchanged  923a0ece7cac
        mango   unchanged  861b04b87bfb
      0 moved, 0 new, 3 unchanged, 0 not built, 0 older builds, 0 errors
      nothing to commit on nomad-gitops/deploy
      "
    `);
    expect(await repo.git("status", "--porcelain")).toBe("");
  });

  it("--images: an archive identical to the deployed image is not pushed; a changed one is", async () => {
    await repo.write("services/banana/main.txt", "banana v3\n");
    const fourth = await repo.commit("banana: v3");
    const archives = path.join(repo.dir, "..", `${path.basename(repo.dir)}-images`);
    await writeDockerArchive(path.join(archives, "banana.tar"), await repo.image("banana"));
    await writeDockerArchive(path.join(archives, "kiwi.tar"), await repo.image("kiwi"));
    await repo.write(
      "../" + `${path.basename(repo.dir)}-images/images.json`,
      JSON.stringify({
        banana: "docker-archive:banana.tar",
        kiwi: `docker-archive:${path.join(archives, "kiwi.tar")}`,
      }),
    );
    registry.clearRequests();
    const out = await run("apply", "--images", path.join(archives, "images.json"), "--json");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const data = JSON.parse(out.stdout) as {
      services: Array<{ name: string; status: string; new: { digest: string } | null }>;
      registry: unknown;
    };
    expect(data.services.map((s) => `${s.name} ${s.status}`)).toEqual([
      "banana moved",
      "kiwi unchanged",
      "mango not-built",
    ]);
    expect(mask(JSON.stringify(data.registry, null, 1), fourth)).toMatchInlineSnapshot(`
      "[
       {
        "service": "banana",
        "action": "push",
        "ref": "<registry>/acme/banana:<sha1>",
        "result": "pushed"
       },
       {
        "service": "kiwi",
        "action": "push",
        "ref": "<registry>/acme/kiwi:<sha1>",
        "result": "skipped",
        "detail": "same config sha256:fbfa1c0e2cbb580406b2233f9cb2b7b2b48713d7a8313451bda5fd3450a46730, same content, manifest encoded differently"
       },
       {
        "service": "kiwi",
        "action": "retag",
        "ref": "<registry>/acme/kiwi@sha256:923a0ece7cac584da0f8411e7b3c77bbf9a923ad20542926da32e25b58437527",
        "tags": [
         "<sha1>"
        ],
        "result": "created"
       }
      ]"
    `);
    const written = new Set(writes().map((r) => r.path.split("/").slice(0, 4).join("/")));
    expect([...written].sort()).toEqual(["/v2/acme/banana", "/v2/acme/kiwi"]); // kiwi: the tag PUT only
    expect(
      writes()
        .filter((r) => r.path.startsWith("/v2/acme/kiwi/"))
        .map((r) => `${r.method} ${r.path}`),
    ).toEqual([`PUT /v2/acme/kiwi/manifests/${fourth}`]);
    const banana = data.services[0]!.new!.digest;
    expect(await repo.read("nomad/banana.nomad.hcl")).toContain(`banana@${banana}"`);
    await repo.commit("Deploy banana v3");
  });

  it("bad --images files: clear errors, exit 2, nothing touched; a missing archive fails only its service", async () => {
    const dir = path.join(repo.dir, "..", `${path.basename(repo.dir)}-bad`);
    const file = (name: string) => path.join(dir, name);
    await repo.write(`../${path.basename(dir)}/broken.json`, "{ banana: ");
    await repo.write(`../${path.basename(dir)}/list.json`, '["docker-archive:x.tar"]');
    await repo.write(`../${path.basename(dir)}/scheme.json`, '{"banana": "tarball:/x.tar"}');
    await repo.write(
      `../${path.basename(dir)}/gone.json`,
      '{"banana": "docker-archive:/nonexistent/banana.tar", "kiwi": "oci:/nonexistent/kiwi"}',
    );
    const cases = await Promise.all(
      ["broken", "list", "scheme", "nope"].map((n) => run("plan", "--images", file(`${n}.json`))),
    );
    expect(cases.map((c) => c.code)).toEqual([2, 2, 2, 2]);
    // V8's JSON.parse message grows " (line 1 column 3)" on Node 22+: keep the snapshot version-free.
    const stderr = cases.map((c) =>
      c.stderr.replaceAll(dir, "<dir>").replace(/ \(line \d+ column \d+\)/, ""),
    );
    expect(stderr).toMatchInlineSnapshot(`
      [
        "nomad-gitops-bot plan: --images <dir>/broken.json: not valid JSON (Expected property name or '}' in JSON at position 2)
      ",
        "nomad-gitops-bot plan: --images <dir>/list.json: must be a JSON object of {"service": "docker-archive:PATH" | "oci:DIR" | "image:tag"}
      ",
        "nomad-gitops-bot plan: --images <dir>/scheme.json: "banana": "tarball:/x.tar" is not docker-archive:PATH, oci:DIR or an image reference with a tag or digest
      ",
        "nomad-gitops-bot plan: --images <dir>/nope.json: cannot read it (ENOENT)
      ",
      ]
    `);
    const gone = await run("apply", "--images", file("gone.json"), "--quiet");
    expect(gone.code).toBe(1);
    expect(mask(gone.stderr, await repo.git("rev-parse", "HEAD"))).toMatchInlineSnapshot(`
      "build <short1> (main), tag <sha1>
        banana  error        cannot open /nonexistent/banana.tar: ENOENT
        kiwi    error        /nonexistent/kiwi is not an OCI layout: cannot read /nonexistent/kiwi/index.json (ENOENT)
        mango   not built    not in the --images map
      0 moved, 0 new, 0 unchanged, 1 not built, 0 older builds, 2 errors
      "
    `);
    expect(await repo.git("status", "--porcelain")).toBe("");
  });

  it("[fault:http-5xx-lasting] registry down for one service: that one is an error, the others still proceed (exit 1)", async () => {
    await repo.write("services/banana/main.txt", "banana v4\n");
    const fifth = await repo.commit("banana: v4");
    await repo.build(fifth);
    registry.intercept({
      request: (req) =>
        req.path.startsWith("/v2/acme/kiwi/") ? { status: 503, body: "down for maintenance" } : undefined,
    });
    const out = await run("apply");
    registry.intercept(null);
    expect(out.code).toBe(1);
    expect(mask(out.stdout.split("\n--- PR")[0]!, fifth)).toMatchInlineSnapshot(`
      "build <short1> (main), tag <sha1>
        banana  moved      852f5161ed8f → 810a00420599  nomad/banana.nomad.hcl
        kiwi    error                                   <registry>/acme/kiwi:<sha1>: GET manifests/<sha1> → HTTP 503: down for maintenance, after 4 attempts
        mango   unchanged  861b04b87bfb
      1 moved, 0 new, 1 unchanged, 0 not built, 0 older builds, 1 error
      wrote nomad/banana.nomad.hcl
      wrote RELEASES.md
      "
    `);
    expect(await repo.git("status", "--porcelain")).toBe(" M RELEASES.md\n M nomad/banana.nomad.hcl");
    await repo.commit("Deploy banana v4");
  });

  it("runs through the real bin (compiled dist/)", async () => {
    await repo.build(await repo.git("rev-parse", "HEAD"));
    // `npm it` builds dist/ (prepare); rebuild only when a source is newer, as after editing src/.
    expect(existsSync(new URL("../../dist/cli/plan.js", import.meta.url))).toBe(true);
    const bin = new URL("../../bin/nomad-gitops-bot", import.meta.url).pathname;
    const out = await execa(bin, ["plan", "--repo", repo.dir, "--json"], { reject: false });
    expect(out.exitCode).toBe(0);
    const data = JSON.parse(out.stdout) as { counts: Record<string, number> };
    expect(data.counts).toMatchObject({ unchanged: 3, error: 0 });
    const usage = await execa(bin, ["apply", "--bogus"], { reject: false });
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain("usage: nomad-gitops-bot apply");
  }, 180_000);
});

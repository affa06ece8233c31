import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let repo: GitFixture;

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
});
afterAll(async () => {
  await repo?.remove();
  await registry?.stop();
});

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};
const mask = (text: string, sha: string) =>
  text
    .replaceAll(sha, "<sha>")
    .replaceAll(sha.slice(0, 7), "<short>")
    .replaceAll(registry.host, "<registry>");

describe("plan", () => {
  it("first run: every service is new; a service whose tag is missing is not built", async () => {
    const sha = await repo.git("rev-parse", "HEAD");
    const digests = await repo.build(sha);
    registry.clearRequests();
    const out = await run("plan", "--json");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout) as {
      services: Array<{ name: string; status: string; new: { digest: string } }>;
    };
    expect(plan.services.map((s) => [s.name, s.status, s.new.digest])).toEqual([
      ["banana", "new", digests.banana],
      ["kiwi", "new", digests.kiwi],
      ["mango", "new", digests.mango],
    ]);
    // One HEAD per service, and for each new pin one GET that proves its digest by the bytes; nothing
    // else: the plan is read-only.
    expect(
      registry
        .requests()
        .map((r) => `${r.method} ${r.path} ${r.status}`)
        .sort(),
    ).toEqual(
      ["banana", "kiwi", "mango"]
        .flatMap((s) => [`GET /v2/acme/${s}/manifests/${sha} 200`, `HEAD /v2/acme/${s}/manifests/${sha} 200`])
        .sort(),
    );

    // Deploy that, then change banana only; this build pushes banana and kiwi but not mango.
    expect((await run("apply", "--quiet")).code).toBe(0);
    await repo.commit("Pin images");
    await repo.write("services/banana/main.txt", "banana v2\n");
    const next = await repo.commit("banana: v2");
    await repo.push(next, ["banana", "kiwi"]);
    const table = await run("plan", "--sha", next);
    expect(table.code).toBe(0);
    // Progress in CI: one plain line per service (in completion order).
    expect(
      mask(table.stderr, next)
        .split("\n")
        .map((l) => l.replace(/^\[\d\/3\] /, ""))
        .sort(),
    ).toMatchInlineSnapshot(`
      [
        "",
        "banana: resolve sha256:cc2161c8c4108c1f8394f5a2cb05efb8aaa988fd2c59d5dcc50705a9c51e0a8c",
        "kiwi: resolve sha256:923a0ece7cac584da0f8411e7b3c77bbf9a923ad20542926da32e25b58437527",
        "mango: resolve not-built",
        "scanned 3 job files, 3 services",
      ]
    `);
    expect(mask(table.stdout, next)).toMatchInlineSnapshot(`
      "build <short> (main), tag <sha>
        banana  moved      ec311a13c9f7 → cc2161c8c410  nomad/banana.nomad.hcl
        kiwi    unchanged  923a0ece7cac
        mango   not built                               <registry>/acme/mango:<sha> is not in the registry
      1 moved, 0 new, 1 unchanged, 1 not built, 0 older builds, 0 errors
      "
    `);
  });

  it("redraws one progress line on a terminal and prints nothing extra with --json", async () => {
    const tty = captureIO({ cwd: repo.dir, isTTY: true });
    expect(await main(["plan"], tty.io)).toBe(0);
    // Every update starts with carriage return + erase-line; the last one clears the line.
    const [head, ...updates] = tty.stderr.split("\r\x1b[K");
    expect(head).toBe("scanned 3 job files, 3 services\n");
    expect(updates.pop()).toBe("");
    expect(updates.length).toBeGreaterThanOrEqual(3);
    for (const u of updates) expect(u).toMatch(/^\[\d\/3\] (banana|kiwi|mango): resolve[^\n]*$/);
    const json = captureIO({ cwd: repo.dir, isTTY: true });
    expect(await main(["plan", "--json"], json.io)).toBe(0);
    expect(json.stderr).toBe("");
  });

  it("refuses a missing config, a bad revision and bad arguments with exit 2", async () => {
    expect((await run("plan", "--sha", "no-such-rev")).stderr).toMatch(/"no-such-rev" is not a commit/);
    const bad = await run("plan", "--frobnicate");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("usage: nomad-gitops-bot plan");
    await repo.write(".github/nomad-gitops.yml.bak", await repo.read(".github/nomad-gitops.yml"));
    await repo.write(".github/nomad-gitops.yml", "registry: ghcr.io/acme\npin: sideways\nservice: []\n");
    const invalid = await run("plan");
    await repo.write(".github/nomad-gitops.yml", await repo.read(".github/nomad-gitops.yml.bak"));
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatchInlineSnapshot(`
      "nomad-gitops-bot plan: invalid .github/nomad-gitops.yml:
        pin: must be one of "tag+digest", "digest"
        unknown key "service"
      "
    `);
    const elsewhere = await run("plan", "--repo", "/");
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/is not inside a git repository/);
  });
});

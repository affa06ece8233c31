// Digest-only pins (the default `pin: digest`) carry no tag, so the build a pin was made from is read
// from the deploy commit that wrote it: release notes start there and an older build is not deployed.
// Real git (the CLI's `apply --commit`, fast-forwarded like a merged PR) and the real registry.
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { main } from "../../src/cli/main.js";
import { buildOfPin } from "../../src/core/pin-records.js";
import { GitFixture } from "./git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
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

const Commits = z.union([
  z.object({ ok: z.literal(true), commits: z.array(z.object({ sha: z.string(), subject: z.string() })) }),
  z.object({ ok: z.literal(false), reason: z.string() }),
]);
const Result = z.object({
  services: z.array(
    z.object({
      name: z.string(),
      status: z.string(),
      reason: z.string().optional(),
      old: z.object({
        digest: z.string().nullable(),
        tag: z.string().nullable(),
        commit: z.string().nullable(),
      }),
      commits: Commits.optional(),
    }),
  ),
});
const Complete = z.object({ complete: z.boolean(), counts: z.record(z.string(), z.number()) });
const json = (stdout: string) => Result.parse(JSON.parse(stdout));
const service = (out: z.infer<typeof Result>, name: string) => out.services.find((s) => s.name === name)!;

/** `apply --commit`, then the deploy branch merged: main moves to it (a fast-forward). */
async function deployAndMerge(): Promise<z.infer<typeof Result>> {
  const out = await run("apply", "--commit", "nomad-gitops/deploy", "--json");
  expect(out.code).toBe(0);
  await repo.git("reset", "-q", "--hard", "nomad-gitops/deploy");
  return json(out.stdout);
}

describe("digest-only pins", () => {
  let first: string;
  let second: string;

  it("are the default: no tag in the job file, the build recorded in the deploy commit's trailer", async () => {
    first = await repo.git("rev-parse", "HEAD");
    const digests = await repo.build(first);
    await deployAndMerge();
    expect(await repo.read("nomad/banana.nomad.hcl")).toContain(
      `image = "${registry.host}/acme/banana@${digests.banana}"`,
    );
    const message = await repo.git("log", "-1", "--format=%B", "HEAD");
    expect(message).toContain(
      `- banana: first pin → ${digests.banana.slice(7, 19)} (nomad/banana.nomad.hcl)`,
    );
    expect(message).toContain(`Nomad-Gitops-Build: ${first}`);
  });

  it("start the release notes at the build the deploy commit records", async () => {
    await repo.write("services/banana/main.txt", "banana v2\n");
    second = await repo.commit("banana: v2");
    await repo.build(second);
    const out = await deployAndMerge();
    const banana = service(out, "banana");
    expect(banana.status).toBe("moved");
    // No tag to read a commit from: the one found is the deploy commit's `Nomad-Gitops-Build`.
    expect(banana.old.tag).toBeNull();
    expect(banana.old.commit).toBe(first);
    // Release notes start at that build: the commit since it that touched banana's paths.
    expect(banana.commits).toEqual({ ok: true, commits: [{ sha: second, subject: "banana: v2" }] });
    expect(out.services.filter((s) => s.status === "unchanged").map((s) => s.name)).toEqual([
      "kiwi",
      "mango",
    ]);
  });

  it("[fault:pin-record-older-build] stop a build older than the one pinned (never downgrade), from the recorded build", async () => {
    // The build of `first` finishing late: its image is the one pinned before `second`'s.
    const out = await run("plan", "--sha", first, "--json");
    expect(out.code).toBe(0);
    const banana = service(json(out.stdout), "banana");
    expect(banana.old.commit).toBe(second);
    expect(banana.status).toBe("stale");
    expect(banana.reason).toBe(
      `build ${first.slice(0, 7)} is older than the deployed ${second.slice(0, 7)}: not downgrading`,
    );
  });

  it("[fault:stale-keeps-pr] an older build finishing late never closes the open deploy PR: the docs/ci.md workflow asks `complete`, the App's rule", async () => {
    // The workflow's own condition, run by jq on the CLI's JSON as the workflow runs it.
    const ci = await readFile(new URL("../../docs/ci.md", import.meta.url), "utf8");
    const closing = /jq -e '([^']+)' "\$result" > \/dev\/null; then\s+gh pr close/.exec(ci)?.[1];
    expect(closing).toBe(".complete");
    const closes = async (stdout: string) =>
      (await execa("jq", ["-e", closing!], { input: stdout, reject: false })).exitCode === 0;

    const older = await run("plan", "--sha", first, "--json");
    expect(older.code).toBe(0);
    expect(service(json(older.stdout), "banana").status).toBe("stale");
    const olderPlan = Complete.parse(JSON.parse(older.stdout));
    expect(olderPlan).toMatchObject({ complete: false, counts: { stale: 1, moved: 0, new: 0 } });
    // Was `.counts["not-built"] == 0 and .counts.awaiting == 0`: true here, so the PR was closed.
    expect(await closes(older.stdout)).toBe(false);

    // The deployed build itself: nothing moved and nothing unseen, so an open PR is obsolete.
    const current = await run("plan", "--sha", second, "--json");
    expect(current.code).toBe(0);
    expect(Complete.parse(JSON.parse(current.stdout))).toMatchObject({
      complete: true,
      counts: { stale: 0, moved: 0, new: 0 },
    });
    expect(await closes(current.stdout)).toBe(true);
  });

  it("[fault:pin-record-by-tag] trace a pin committed by hand (no record in its message) to the build whose tag names it", async () => {
    await repo.write("services/banana/main.txt", "banana v3\n");
    const third = await repo.commit("banana: v3");
    await repo.build(third);
    // The bot's edit committed under the user's own message: the build is found by its tag instead.
    expect((await run("apply")).code).toBe(0);
    await repo.commit("Pin banana by hand");
    await repo.write("services/banana/main.txt", "banana v4\n");
    const fourth = await repo.commit("banana: v4");
    await repo.build(fourth);
    const banana = service(json((await run("plan", "--json")).stdout), "banana");
    expect(banana.status).toBe("moved");
    expect(banana.old.commit).toBe(third);
    expect(banana.commits).toEqual({ ok: true, commits: [{ sha: fourth, subject: "banana: v4" }] });
  });

  it("[fault:pin-record-none] say why when neither a deploy commit nor a build tag records the pin", async () => {
    // A digest pinned by hand, pushed under a tag that names no commit.
    const manual = await pushTestImage(
      registry.directHost,
      "acme/banana",
      "hand-made",
      await buildImage({ layers: [{ "app/main.txt": "made by hand\n" }] }),
    );
    const file = await repo.read("nomad/banana.nomad.hcl");
    await repo.write("nomad/banana.nomad.hcl", file.replace(/@sha256:[0-9a-f]{64}/, `@${manual}`));
    const head = await repo.commit("Pin banana to an image made by hand");
    await repo.build(head);
    const banana = service(json((await run("plan", "--json")).stdout), "banana");
    expect(banana.status).toBe("moved");
    expect(banana.old.commit).toBeNull();
    expect(banana.commits).toEqual({
      ok: false,
      reason: `the old pin (tag none) records no commit: no deploy commit in the history of nomad/banana.nomad.hcl pinned ${manual.slice(7, 19)}, and no build tag of its last 5 commits names it`,
    });
  });

  it("keep reading the commit of an existing tag+digest pin from its tag", async () => {
    const file = await repo.read("nomad/kiwi.nomad.hcl");
    await repo.write(
      "nomad/kiwi.nomad.hcl",
      file.replace(/(acme\/kiwi)@sha256:[0-9a-f]{64}/, `$1:${second}@sha256:${"0".repeat(64)}`),
    );
    const head = await repo.commit("kiwi: a tag+digest pin written before digest became the default");
    const digests = await repo.build(head);
    const out = json((await run("plan", "--json")).stdout);
    const kiwi = service(out, "kiwi");
    expect(kiwi.old.tag).toBe(second);
    expect(kiwi.old.commit).toBe(second);
    expect(kiwi.status).toBe("moved");
    expect(digests.kiwi).toMatch(/^sha256:/);
    // Unchanged services keep their line byte for byte (plan writes nothing; apply would not touch it).
    expect(service(out, "mango").status).toBe("unchanged");
  });
});

describe("buildOfPin", () => {
  const D = `sha256:${"ab".repeat(32)}`;
  const trailer = `Nomad-Gitops-Build: ${"1".repeat(40)}`;
  it("reads the newest deploy commit whose line names the service and the digest", () => {
    const history = [
      {
        sha: "c3",
        message: `Deploy web\n\n- web: ${"cd".repeat(6)} → ${"ef".repeat(6)} (a.hcl)\n\n${trailer}\n`,
      },
      {
        sha: "c2",
        message: `Deploy api\n\n- api: first pin → ${"ab".repeat(6)} (a.hcl)\n\nNomad-Gitops-Build: ${"2".repeat(40)}\n`,
      },
      {
        sha: "c1",
        message: `Deploy api-web\n\n- api-web: first pin → ${"ab".repeat(6)} (a.hcl)\n\n${trailer}\n`,
      },
    ];
    expect(buildOfPin(history, "api", D)).toBe("2".repeat(40));
    // A service whose name extends another's is not mistaken for it.
    expect(buildOfPin(history, "api-web", D)).toBe("1".repeat(40));
    expect(buildOfPin(history, "web", D)).toBeNull();
  });

  it("counts a message without its trailer as no record", () => {
    const edited = [
      { sha: "c1", message: `Deploy api (#12)\n\n- api: first pin → ${"ab".repeat(6)} (a.hcl)\n` },
    ];
    expect(buildOfPin(edited, "api", D)).toBeNull();
  });
});

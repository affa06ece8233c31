// `rollout` against the real Nomad stand-in on 127.0.0.1: a look now, --wait following a rollout to its
// end (virtual time: no real sleeping), an unreachable cluster, --sha, usage errors, the real bin.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runRollout } from "../../src/cli/rollout.js";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";
import { type NomadStandIn, type StandInOptions, closedAddress, startNomad } from "../helpers/nomad.js";
import { fakeScheduler } from "../helpers/scheduler.js";

const TOKEN = "nomad-acl-token-for-cli-tests-0123456789";
const REG = "127.0.0.1:5000/acme";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const job = (service: string, digest: string) =>
  `job "${service}" {\n  group "app" {\n    task "server" {\n      driver = "docker"\n      config {\n        image = "${REG}/${service}:v1@${digest}"\n      }\n    }\n  }\n}\n`;

let dir: string;
let nomad: NomadStandIn | undefined;

async function repo(address: string, files: Record<string, string>): Promise<void> {
  const config = [
    "services:",
    `  - { name: banana, image: ${REG}/banana }`,
    `  - { name: kiwi, image: ${REG}/kiwi }`,
    `nomad: { address: "${address}", follow_minutes: 2 }`,
    "",
  ].join("\n");
  for (const [file, text] of Object.entries({ ".github/nomad-gitops.yml": config, ...files })) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
}
const standIn = async (options: StandInOptions) => {
  nomad = await startNomad({ token: TOKEN, ...options });
  return nomad.address;
};
const io = () => captureIO({ cwd: dir, env: { NOMAD_TOKEN: TOKEN } });
const mask = (text: string) => (nomad ? text.split(nomad.address).join("NOMAD") : text);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ngb-rollout-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await nomad?.stop();
  nomad = undefined;
});

describe("rollout", () => {
  it("prints each job's state now: version, digest vs pin, groups; a moved digest is queued", async () => {
    const address = await standIn({
      running: { banana: `${REG}/banana:v1@${D1}`, kiwi: `${REG}/kiwi:v0@${D1}` },
      rollout: { banana: "running" },
    });
    await repo(address, {
      "nomad/banana.nomad.hcl": job("banana", D1),
      "nomad/kiwi.nomad.hcl": job("kiwi", D2),
    });
    const cap = io();
    const code = await main(["rollout", "nomad/banana.nomad.hcl", "nomad/kiwi.nomad.hcl"], cap.io);
    expect(cap.stderr).toBe("");
    expect(code).toBe(0);
    expect(cap.stdout).toMatchInlineSnapshot(`
      "banana (job banana, nomad/banana.nomad.hcl): in_progress — v4: Deployment is running (0/2 healthy)
        job version 3
        app/server: runs 111111111111, file pins 111111111111 (same)
        deployment 85ee4a9a: running
        group app: 0/2 healthy (1 placed, 0 unhealthy)

      kiwi (job kiwi, nomad/kiwi.nomad.hcl): queued — waiting for Nomad to pick up the merge: cluster still runs another digest
        job version 3
        app/server: runs 111111111111, file pins 222222222222 (drift)
      "
    `);
    expect(nomad!.requests().every((r) => r.authorized)).toBe(true);
  });

  it("--wait follows a rollout to success with the App's backoff, without sleeping", async () => {
    const address = await standIn({
      running: { banana: `${REG}/banana:v1@${D1}` },
      progress: { banana: ["running", "running", "successful"] },
    });
    await repo(address, { "nomad/banana.nomad.hcl": job("banana", D1) });
    const scheduler = fakeScheduler();
    const cap = io();
    const code = await runRollout(["--wait", "--json", "nomad/banana.nomad.hcl"], cap.io, scheduler);
    expect(code).toBe(0);
    expect(scheduler.sleeps()).toEqual([5_000, 10_000]);
    expect(cap.stderr).toBe(
      "banana (job banana): success — v4: Deployment completed successfully (2/2 healthy)\n",
    );
    const [row] = JSON.parse(cap.stdout) as Array<Record<string, unknown>>;
    expect(row).toMatchObject({
      service: "banana",
      state: "success",
      timedOut: false,
      images: [{ group: "app", task: "server", pinned: D1, running: D1, status: "same" }],
      deployment: { status: "successful", groups: [{ name: "app", desired: 2, healthy: 2 }], failures: [] },
    });
  });

  it("--wait: a failed rollout prints the failing allocation's events and exits 1", async () => {
    const address = await standIn({
      running: { banana: `${REG}/banana:v1@${D1}` },
      progress: { banana: ["running", "failed"] },
    });
    await repo(address, { "nomad/banana.nomad.hcl": job("banana", D1) });
    const cap = io();
    expect(await runRollout(["--wait", "nomad/banana.nomad.hcl"], cap.io, fakeScheduler())).toBe(1);
    expect(cap.stdout.split("\n").slice(4).join("\n")).toMatchInlineSnapshot(`
      "  group app: 0/2 healthy (1 placed, 1 unhealthy)
        allocation 287b65cc app/server:
          Driver Failure: Failed to pull \`ghcr.io/acme/banana:2222222@sha256:2222222222222222222222222222222222222222222222222222222222222222\`: manifest unknown
          Not Restarting: Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"
      "
    `);
  });

  it("--wait: still running at nomad.follow_minutes is an error, exit 1", async () => {
    const address = await standIn({
      running: { banana: `${REG}/banana:v1@${D1}` },
      progress: { banana: ["running"] },
    });
    await repo(address, { "nomad/banana.nomad.hcl": job("banana", D1) });
    const scheduler = fakeScheduler();
    const cap = io();
    expect(await runRollout(["--wait", "nomad/banana.nomad.hcl"], cap.io, scheduler)).toBe(1);
    expect(scheduler.sleeps().reduce((a, b) => a + b, 0)).toBe(2 * 60_000);
    expect(cap.stdout.split("\n")[0]).toBe(
      "banana (job banana, nomad/banana.nomad.hcl): error — still rolling out after 2 min; see `nomad job status banana`",
    );
  });

  it("an unreachable cluster exits 1 with the reason; the token is never printed", async () => {
    await repo(await closedAddress(), { "nomad/banana.nomad.hcl": job("banana", D1) });
    const cap = io();
    expect(await main(["rollout", "--wait", "nomad/banana.nomad.hcl"], cap.io)).toBe(1);
    expect(cap.stdout).toMatch(
      /^banana \(job banana, nomad\/banana\.nomad\.hcl\): error — cluster unreachable: http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(GET \/v1\/job\/banana\)\n$/,
    );
    expect(cap.stdout + cap.stderr).not.toContain(TOKEN);
  });

  it("--sha reads the config and job file at a commit, not the working tree", async () => {
    const address = await standIn({
      running: { banana: `${REG}/banana:v1@${D1}` },
      rollout: { banana: "successful" },
    });
    await repo(address, { "nomad/banana.nomad.hcl": job("banana", D1) });
    const g = (...args: string[]) => execa("git", args, { cwd: dir });
    await g("init", "-q", "-b", "main");
    await g("add", "-A");
    await g("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "pin");
    await writeFile(path.join(dir, "nomad/banana.nomad.hcl"), job("banana", D2));
    const committed = io();
    expect(await main(["rollout", "--sha", "HEAD", "nomad/banana.nomad.hcl"], committed.io)).toBe(0);
    expect(committed.stdout).toContain("file pins 111111111111 (same)");
    const worktree = io();
    expect(await main(["rollout", "nomad/banana.nomad.hcl"], worktree.io)).toBe(0);
    expect(worktree.stdout).toContain("queued — waiting for Nomad to pick up the merge");
    await rm(path.join(dir, ".git"), { recursive: true, force: true });
  });

  it("usage and input errors exit 2", async () => {
    await repo("http://127.0.0.1:9", { "nomad/banana.nomad.hcl": job("banana", D1) });
    const none = io();
    expect(await main(["rollout"], none.io)).toBe(2);
    expect(none.stderr).toContain("name at least one JOB_FILE");
    await writeFile(path.join(dir, ".github/nomad-gitops.yml"), `registry: ${REG}\n`);
    const off = io();
    expect(await main(["rollout", "nomad/banana.nomad.hcl"], off.io)).toBe(2);
    expect(mask(off.stderr)).toBe(
      "nomad-gitops-bot rollout: .github/nomad-gitops.yml sets no nomad.address: there is no cluster to ask\n",
    );
  });

  it("works through the real bin (compiled dist/)", async () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const address = await standIn({
      running: { banana: `${REG}/banana:v1@${D1}` },
      rollout: { banana: "successful" },
    });
    await repo(address, { "nomad/banana.nomad.hcl": job("banana", D1) });
    const bin = path.join(root, "bin/nomad-gitops-bot");
    const ok = await execa(bin, ["rollout", "--wait", "nomad/banana.nomad.hcl"], {
      cwd: dir,
      env: { NOMAD_TOKEN: TOKEN },
      reject: false,
    });
    expect(ok.stdout.split("\n")[0]).toBe(
      "banana (job banana, nomad/banana.nomad.hcl): success — v4: Deployment completed successfully (2/2 healthy)",
    );
    expect(ok.exitCode).toBe(0);
    expect((await execa(bin, ["rollout"], { cwd: dir, reject: false })).exitCode).toBe(2);
  }, 120_000);
});

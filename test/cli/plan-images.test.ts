// `plan --images` reads every archive locally and changes nothing: an OCI layout's digest (pushed as it
// is, so known before the push) is shown as moved, unchanged or new; a docker-archive, whose digest only
// exists after skopeo compresses it, is compared by config digest and shows "(on push)"; a missing or
// truncated archive is an error for its service alone. No request writes to the registry.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage, writeDockerArchive, writeOciLayout } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { createServiceRepo } from "../helpers/service-repo.js";

const SERVICES = ["fresh", "moved", "same", "tarball", "missing", "truncated"] as const;
const image = (name: string, v: number) => buildImage({ layers: [{ "app/main.txt": `${name} v${v}\n` }] });
let registry: TestRegistry;
let tmp: string;
let repo: string;
let git: (...args: string[]) => Promise<string>;
const short = (digest: string) => digest.slice("sha256:".length, "sha256:".length + 12);
const v2 = Object.fromEntries(SERVICES.map((s) => [s, image(s, 2)]));
const v1 = Object.fromEntries(SERVICES.map((s) => [s, image(s, 1)]));

beforeAll(async () => {
  registry = await startRegistry();
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-plan-images-"));
  repo = path.join(tmp, "repo");
  const pins: Record<string, string> = {};
  for (const s of SERVICES)
    pins[s] =
      s === "fresh" ? "latest" : `v1@${await pushTestImage(registry.directHost, `acme/${s}`, "v1", v1[s]!)}`;
  git = await createServiceRepo(repo, registry.host, pins);
  const dir = path.join(tmp, "images");
  await writeOciLayout(path.join(dir, "fresh"), v2.fresh!);
  await writeOciLayout(path.join(dir, "moved"), v2.moved!);
  await writeOciLayout(path.join(dir, "same"), v1.same!);
  await writeDockerArchive(path.join(dir, "tarball.tar"), v2.tarball!);
  const whole = await readFile(await writeDockerArchive(path.join(dir, "whole.tar"), v2.truncated!));
  await writeFile(path.join(dir, "truncated.tar"), whole.subarray(0, Math.floor(whole.length / 2)));
  await writeFile(
    path.join(dir, "images.json"),
    JSON.stringify({
      fresh: "oci:fresh",
      moved: "oci:moved",
      same: "oci:same",
      tarball: "docker-archive:tarball.tar",
      missing: "docker-archive:missing.tar",
      truncated: "docker-archive:truncated.tar",
    }),
  );
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("plan --images", () => {
  it("[fault:plan-archive-unreadable] shows each archive's digest as moved/unchanged/new, and a missing or truncated archive is an error for that service only", async () => {
    registry.clearRequests();
    const cap = captureIO({ cwd: repo });
    const code = await main(["plan", "--images", path.join(tmp, "images/images.json")], cap.io);
    expect(code).toBe(1);
    const lines = Object.fromEntries(
      cap.stdout
        .split("\n")
        .map((l) => l.trim().split(/\s{2,}/))
        .filter((cells) => (SERVICES as readonly string[]).includes(cells[0]!))
        .map((cells) => [cells[0], cells.slice(1).join(" | ")]),
    );
    const pinned = async (s: string) =>
      (await readFile(path.join(repo, `nomad/${s}.nomad.hcl`), "utf8")).match(/@(sha256:[a-f0-9]{64})/)![1]!;
    expect(lines).toEqual({
      fresh: `new | → ${short(v2.fresh!.manifest.digest)} | nomad/fresh.nomad.hcl`,
      moved: `moved | ${short(await pinned("moved"))} → ${short(v2.moved!.manifest.digest)} | nomad/moved.nomad.hcl`,
      same: `unchanged | ${short(v1.same!.manifest.digest)}`,
      tarball: `moved | ${short(await pinned("tarball"))} → (on push) | nomad/tarball.nomad.hcl`,
      missing: expect.stringMatching(/^error \| cannot open .*missing\.tar: ENOENT$/),
      truncated: expect.stringMatching(/^error \| .*truncated\.tar/),
    });
    // Read-only: the registry saw no write, the working tree is as it was.
    expect(registry.requests().filter((r) => r.method !== "GET" && r.method !== "HEAD")).toEqual([]);
    expect(await git("status", "--porcelain")).toBe("");
  });
});

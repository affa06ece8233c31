// A multi-arch image whose tag is there but one of whose platform manifests is gone (deleted for real
// with the registry's `delete: enabled`, as a garbage collection or a partial mirror leaves it). Only
// the build tag's own absence is "not built"; a missing child is an error naming the platform and the
// child's digest, in `plan`, for a pinned index, and in `digest REF`.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { MissingChildError, copyImage, createRegistryClient } from "../../src/registry/index.js";
import { captureIO } from "../helpers/io.js";
import { type BuiltIndex, buildImage, buildMultiArch, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { createServiceRepo } from "../helpers/service-repo.js";

let registry: TestRegistry;
let tmp: string;
let repo: string;
let build: string;
// pinned: the build tag is the pin, an index that lost arm64. broken: the build moved to such an index.
// rebuilt: the pin lost arm64, the build is a whole new index. absent: no build tag. fine: a move.
const pinned = buildMultiArch("pinned");
const broken = buildMultiArch("broken-next");
const rebuiltOld = buildMultiArch("rebuilt-old");
const rebuiltNew = buildMultiArch("rebuilt-new");
const single = (name: string) => buildImage({ layers: [{ "etc/name": name }] });

const arm64 = (index: BuiltIndex) => index.images.find((i) => i.platform.architecture === "arm64")!;

async function deleteManifest(repository: string, digest: string) {
  const res = await fetch(`http://${registry.directHost}/v2/${repository}/manifests/${digest}`, {
    method: "DELETE",
  });
  expect(res.status).toBe(202);
}

beforeAll(async () => {
  registry = await startRegistry();
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-missing-child-"));
  repo = path.join(tmp, "repo");
  const pins: Record<string, string> = {
    pinned: `v1@${await pushTestImage(registry.directHost, "acme/pinned", "v1", pinned)}`,
    broken: `v1@${await pushTestImage(registry.directHost, "acme/broken", "v1", single("broken-v1"))}`,
    rebuilt: `v1@${await pushTestImage(registry.directHost, "acme/rebuilt", "v1", rebuiltOld)}`,
    absent: `v1@${await pushTestImage(registry.directHost, "acme/absent", "v1", single("absent-v1"))}`,
    fine: `v1@${await pushTestImage(registry.directHost, "acme/fine", "v1", single("fine-v1"))}`,
  };
  const git = await createServiceRepo(repo, registry.host, pins);
  build = await git("rev-parse", "HEAD");
  await pushTestImage(registry.directHost, "acme/pinned", build, pinned);
  await pushTestImage(registry.directHost, "acme/broken", build, broken);
  await pushTestImage(registry.directHost, "acme/rebuilt", build, rebuiltNew);
  await pushTestImage(registry.directHost, "acme/fine", build, single("fine-v2"));
  await deleteManifest("acme/pinned", arm64(pinned).manifest.digest);
  await deleteManifest("acme/broken", arm64(broken).manifest.digest);
  await deleteManifest("acme/rebuilt", arm64(rebuiltOld).manifest.digest);
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo, env: { HOME: tmp } });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};

describe("an index whose tag is there but a platform manifest is gone", () => {
  it("[fault:index-child-missing] the client names the platform and the child digest, and it is no 404", async () => {
    const ref = `${registry.host}/acme/broken:${build}`;
    const client = createRegistryClient({ env: {} });
    const error = await client.digest(ref).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingChildError);
    expect((error as MissingChildError).status).toBeUndefined();
    expect((error as Error).message).toBe(
      `${ref}: index ${broken.manifest.digest} lists ${arm64(broken).manifest.digest} for linux/arm64, ` +
        `but ${registry.host}/acme/broken has no such manifest (HTTP 404): it cannot be pulled on linux/arm64`,
    );
    // Proving by bytes (what a pin is written from) checks the platforms too.
    await expect(client.prove(ref)).rejects.toThrow(`lists ${arm64(broken).manifest.digest} for linux/arm64`);
    // A whole index costs one HEAD for the tag, one GET for the index and one HEAD per platform.
    registry.clearRequests();
    expect(await createRegistryClient({ env: {} }).digest(`${registry.host}/acme/rebuilt:${build}`)).toBe(
      rebuiltNew.manifest.digest,
    );
    expect(registry.requests().map((r) => `${r.method} ${r.status}`)).toEqual([
      "HEAD 200",
      "GET 200",
      "HEAD 200",
      "HEAD 200",
    ]);
  });

  it("[fault:index-child-missing] plan: the broken build and the broken pin are errors, not 'not built' or 'unchanged'; a missing tag is still not built", async () => {
    const out = await run("plan", "--json");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(1);
    const plan = JSON.parse(out.stdout) as {
      services: Array<{ name: string; status: string; reason?: string }>;
    };
    const by = Object.fromEntries(plan.services.map((s) => [s.name, s]));
    expect(plan.services.map((s) => `${s.name} ${s.status}`).sort()).toEqual([
      "absent not-built",
      "broken error",
      "fine moved",
      "pinned error",
      "rebuilt moved",
    ]);
    expect(by.absent!.reason).toBe(`${registry.host}/acme/absent:${build} is not in the registry`);
    expect(by.broken!.reason).toBe(
      `${registry.host}/acme/broken:${build}: index ${broken.manifest.digest} lists ` +
        `${arm64(broken).manifest.digest} for linux/arm64, but ${registry.host}/acme/broken has no such ` +
        "manifest (HTTP 404): it cannot be pulled on linux/arm64",
    );
    expect(by.pinned!.reason).toBe(
      `the pinned image ${registry.host}/acme/pinned@${pinned.manifest.digest} (also the build tag ` +
        `${registry.host}/acme/pinned:${build}) lists ${arm64(pinned).manifest.digest} for linux/arm64, ` +
        "which the registry no longer has: the cluster cannot pull it on linux/arm64; push that platform again or rebuild",
    );
    // A pin broken on one platform is replaced by a whole new build instead of being compared with it.
    expect(by.rebuilt!.reason).toContain(
      `the pinned ${rebuiltOld.manifest.digest} lists ${arm64(rebuiltOld).manifest.digest} for linux/arm64, ` +
        "which the registry no longer has",
    );
  });

  it("[fault:index-child-missing] digest REF exits 1 naming the platform and the child, and prints no digest", async () => {
    const ok = `${registry.host}/acme/rebuilt:${build}`;
    const bad = `${registry.host}/acme/pinned:${build}`;
    const out = await run("digest", ok, bad);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe(`${ok} ${rebuiltNew.manifest.digest}\n`);
    expect(out.stderr).toBe(
      `error: ${bad}: index ${pinned.manifest.digest} lists ${arm64(pinned).manifest.digest} for ` +
        `linux/arm64, but ${registry.host}/acme/pinned has no such manifest (HTTP 404): it cannot be ` +
        "pulled on linux/arm64\n",
    );
  });

  it("[fault:index-child-missing] copyImage copies again to a destination whose index lost a platform", async () => {
    const source = `${registry.host}/acme/rebuilt:${build}`;
    const dest = `${registry.host}/mirror/rebuilt:v1`;
    const digest = rebuiltNew.manifest.digest;
    expect(await copyImage(source, dest, { env: {} })).toEqual({ digest, copied: true });
    await deleteManifest("mirror/rebuilt", arm64(rebuiltNew).manifest.digest);
    await expect(createRegistryClient({ env: {} }).digest(dest)).rejects.toThrow(MissingChildError);
    expect(await copyImage(source, dest, { env: {} })).toEqual({ digest, copied: true });
    expect(await createRegistryClient({ env: {} }).digest(dest)).toBe(digest);
  });
});

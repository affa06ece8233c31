import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, writeDockerArchive, writeOciLayout } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let tmp: string;
const v1 = buildImage({ layers: [{ "etc/app": "cli-push-1" }] });
const v2 = buildImage({ layers: [{ "etc/app": "cli-push-2" }] });

beforeAll(async () => {
  registry = await startRegistry();
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-cli-push-"));
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("nomad-gitops-bot push", () => {
  it("pushes, skips an unchanged archive without uploads, pushes a changed one", async () => {
    const ref = `${registry.host}/acme/app:live`;
    await writeDockerArchive(path.join(tmp, "v1.tar"), v1);
    const first = captureIO({ cwd: tmp });
    expect(await main(["push", "docker-archive:v1.tar", ref], first.io)).toBe(0);
    const digest = first.stdout.trim();
    expect(digest).toBe(await createRegistryClient({ env: {} }).digest(ref));
    expect(first.stderr).toBe(`pushed: ${ref} (pushed)\n`);

    registry.clearRequests();
    const second = captureIO({ cwd: tmp });
    expect(await main(["push", "docker-archive:v1.tar", ref], second.io)).toBe(0);
    expect(second.stdout).toBe(`${digest}\n`);
    expect(second.stderr).toBe(
      `unchanged, not pushed: ${ref} (registry already has the same image (same config ${v1.config.digest}))\n`,
    );
    expect(registry.requests().filter((r) => r.method !== "GET" && r.method !== "HEAD")).toEqual([]);

    await writeOciLayout(path.join(tmp, "v2-oci"), v2, "v2");
    const third = captureIO({ cwd: tmp });
    expect(await main(["push", "oci:v2-oci:v2", ref], third.io)).toBe(0);
    expect(third.stdout).toBe(`${v2.manifest.digest}\n`);
  });

  it("--deployed: the same image under a new tag is tagged, not pushed", async () => {
    await writeDockerArchive(path.join(tmp, "same.tar"), v1);
    const running = captureIO({ cwd: tmp });
    expect(
      await main(["push", "docker-archive:same.tar", `${registry.host}/acme/svc:build-1`], running.io),
    ).toBe(0);
    const digest = running.stdout.trim();

    registry.clearRequests();
    const cap = captureIO({ cwd: tmp });
    const argv = ["push", "--deployed", `${registry.host}/acme/svc@${digest}`, "docker-archive:same.tar"];
    expect(await main([...argv, `${registry.host}/acme/svc:build-2`], cap.io)).toBe(0);
    expect(cap.stdout).toBe(`${digest}\n`);
    expect(cap.stderr).toBe(
      `unchanged, not pushed: ${registry.host}/acme/svc:build-2 (same image as ${registry.host}/acme/svc@${digest} ` +
        `(same config ${v1.config.digest}): tag added, nothing uploaded)\n`,
    );
    expect(registry.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v2/acme/svc/manifests/${digest}`,
      "HEAD /v2/acme/svc/manifests/build-2",
      "PUT /v2/acme/svc/manifests/build-2",
    ]);
    expect(await createRegistryClient({ env: {} }).digest(`${registry.host}/acme/svc:build-2`)).toBe(digest);
  });

  it("fails with the reason when the archive is unreadable (exit 1)", async () => {
    const cap = captureIO({ cwd: tmp });
    expect(await main(["push", "docker-archive:nothere.tar", `${registry.host}/acme/app:x`], cap.io)).toBe(1);
    expect(cap.stderr).toBe(
      `error: ${registry.host}/acme/app:x: cannot open ${path.join(tmp, "nothere.tar")}: ENOENT\n`,
    );
  });

  it("exits 2 on usage errors", async () => {
    for (const argv of [
      ["push", "docker-archive:a.tar"],
      ["push", "tarball:a.tar", "r/x:1"],
      ["push", "docker-archive:a.tar", `r/x@sha256:${"a".repeat(64)}`],
      ["push", "docker-archive:a.tar", "r/x:1", "extra"],
    ]) {
      const cap = captureIO();
      expect(await main(argv, cap.io)).toBe(2);
      expect(cap.stderr).toContain("usage: nomad-gitops-bot push [--force] [--deployed RUNNING] SOURCE REF");
    }
  });
});

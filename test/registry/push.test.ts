// pushImage with the real skopeo against the real registry: unchanged archives are not pushed (no
// blob upload at all), changed ones are, and the reported digest is what the registry serves.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { readFile } from "node:fs/promises";
import { copyImage, createRegistryClient, pushImage } from "../../src/registry/index.js";
import { readLocalImage } from "../../src/registry/archive.js";
import {
  buildImage,
  buildMultiArch,
  pushTestImage,
  writeDockerArchive,
  writeOciLayout,
} from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let tmp: string;
const v1 = buildImage({ layers: [{ "etc/app": "v1" }, { "bin/app": "binary-1" }] });
const v2 = buildImage({ layers: [{ "etc/app": "v2" }, { "bin/app": "binary-2" }] });
const uploads = () =>
  registry.requests().filter((r) => r.method === "POST" && r.path.includes("/blobs/uploads/"));

beforeAll(async () => {
  registry = await startRegistry();
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-push-"));
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("local sources", () => {
  it("reads a docker-archive's config digest, plain or gzip-compressed", async () => {
    const file = await writeDockerArchive(path.join(tmp, "read.tar"), v1, "app:v1");
    const gz = path.join(tmp, "read.tar.gz");
    await writeFile(gz, gzipSync(await readFile(file)));
    for (const p of [file, gz]) {
      const local = await readLocalImage({ transport: "docker-archive", path: p });
      expect(local.configs).toEqual(new Map([["", v1.config.digest]]));
      expect(local.digest).toBeNull();
    }
  });

  it("reads an OCI layout's index and per-platform configs", async () => {
    const multi = buildMultiArch("read");
    const dir = await writeOciLayout(path.join(tmp, "read-oci"), multi, "v1");
    const local = await readLocalImage({ transport: "oci", path: dir, tag: "v1" });
    expect(local.digest).toBe(multi.manifest.digest);
    expect([...local.configs]).toEqual([
      ["linux/amd64", multi.images[0]!.config.digest],
      ["linux/arm64", multi.images[1]!.config.digest],
    ]);
  });

  it("explains unreadable sources", async () => {
    await expect(
      readLocalImage({ transport: "docker-archive", path: path.join(tmp, "missing.tar") }),
    ).rejects.toThrow(`cannot open ${path.join(tmp, "missing.tar")}: ENOENT`);
    const notTar = path.join(tmp, "not.tar");
    await writeFile(notTar, "hello, not a tar");
    await expect(readLocalImage({ transport: "docker-archive", path: notTar })).rejects.toThrow(
      `${notTar} is not a docker-archive (not a tar: truncated archive`,
    );
    const dir = await writeOciLayout(path.join(tmp, "tagged"), v1, "v1");
    await expect(readLocalImage({ transport: "oci", path: dir, tag: "v9" })).rejects.toThrow(
      `${dir} has no image tagged "v9" (tags: v1)`,
    );
  });
});

describe("pushImage", () => {
  it("pushes a new docker-archive, then skips the unchanged one with no upload, then pushes a change", async () => {
    const ref = `${registry.host}/acme/archive:live`;
    const client = createRegistryClient({ env: {} });
    const first = await writeDockerArchive(path.join(tmp, "v1.tar"), v1);

    const pushed = await pushImage(`docker-archive:${first}`, ref, { env: {} });
    expect(pushed).toMatchObject({ pushed: true });
    expect(await client.digest(ref)).toBe(pushed.digest);
    // skopeo compressed the layers, so the manifest is its own; the config is ours.
    const served = JSON.parse(Buffer.from((await client.manifest(ref)).body).toString()) as {
      config: { digest: string };
    };
    expect(served.config.digest).toBe(v1.config.digest);

    // Rebuilt from the same inputs (a fresh file): nothing to push.
    const again = await writeDockerArchive(path.join(tmp, "v1-again.tar"), v1);
    registry.clearRequests();
    expect(await pushImage(`docker-archive:${again}`, ref, { env: {} })).toEqual({
      digest: pushed.digest,
      pushed: false,
      reason: `registry already has the same image (same config ${v1.config.digest})`,
    });
    expect(registry.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /v2/acme/archive/manifests/live",
    ]);

    const changed = await writeDockerArchive(path.join(tmp, "v2.tar"), v2);
    registry.clearRequests();
    const next = await pushImage(`docker-archive:${changed}`, ref, { env: {} });
    expect(next.pushed).toBe(true);
    expect(next.digest).not.toBe(pushed.digest);
    expect(uploads().length).toBeGreaterThan(0);
    expect(await client.digest(ref)).toBe(next.digest);
  });

  it("pushes a two-platform OCI layout with its digest preserved, and skips it the second time", async () => {
    const multi = buildMultiArch("pushed");
    const dir = await writeOciLayout(path.join(tmp, "multi-oci"), multi, "v1");
    const ref = `${registry.host}/acme/multi:v1`;
    const result = await pushImage(`oci:${dir}:v1`, ref, { env: {} });
    expect(result).toEqual({ digest: multi.manifest.digest, pushed: true, reason: "pushed" });
    expect(
      await createRegistryClient({ env: {} }).digest(
        `${registry.host}/acme/multi@${multi.images[1]!.manifest.digest}`,
      ),
    ).toBe(multi.images[1]!.manifest.digest);
    registry.clearRequests();
    expect(await pushImage(`oci:${dir}:v1`, ref, { env: {} })).toEqual({
      digest: multi.manifest.digest,
      pushed: false,
      reason: `registry already has ${multi.manifest.digest}`,
    });
    expect(uploads()).toEqual([]);
  });

  it("passes credentials to skopeo through a pipe: no auth file, nothing in argv or the environment", async () => {
    const authed = await startRegistry({ htpasswd: { user: "pusher", password: "pw-for-skopeo" } });
    try {
      const authFile = path.join(tmp, "push-auth.json");
      await writeFile(
        authFile,
        JSON.stringify({
          auths: { [authed.host]: { auth: Buffer.from("pusher:pw-for-skopeo").toString("base64") } },
        }),
      );
      const file = await writeDockerArchive(path.join(tmp, "authed.tar"), v1);
      // The real skopeo, behind a wrapper that records its argv, its environment and what its auth
      // "file" is.
      const log = path.join(tmp, "skopeo-argv.txt");
      const wrapper = path.join(tmp, "skopeo-wrapper.sh");
      await writeFile(
        wrapper,
        [
          "#!/bin/sh",
          `printf '%s\\n' "$@" > '${log}'`,
          `env >> '${log}'`,
          'prev=""',
          `for a; do [ "$prev" = --dest-authfile ] && stat -L -c 'type %F mode %a' "$a" >> '${log}'; prev=$a; done`,
          'exec skopeo "$@"',
          "",
        ].join("\n"),
        { mode: 0o755 },
      );
      const result = await pushImage(`docker-archive:${file}`, `${authed.host}/acme/app:1`, {
        env: { REGISTRY_AUTH_FILE: authFile, PATH: process.env.PATH },
        skopeo: wrapper,
      });
      expect(result.pushed).toBe(true);
      const argv = (await readFile(log, "utf8")).trim().split("\n");
      expect(argv[argv.indexOf("--dest-authfile") + 1]).toBe("/dev/fd/4");
      expect(argv.at(-1)).toBe("type fifo mode 600");
      expect(argv.join(" ")).not.toMatch(/pw-for-skopeo|cHVzaGVyOnB3LWZvci1za29wZW8/);
      // Without the credential skopeo is refused, and says so.
      await expect(
        pushImage(`docker-archive:${file}`, `${authed.host}/acme/app:2`, { env: { HOME: tmp }, force: true }),
      ).rejects.toThrow(/skopeo copy failed: .*(unauthorized|authentication required)/i);
    } finally {
      await authed.stop();
    }
  });

  it("refuses a digest reference and an unknown source type", async () => {
    await expect(
      pushImage("docker-archive:/x.tar", `${registry.host}/a@sha256:${"0".repeat(64)}`),
    ).rejects.toThrow("push needs a tag to push to (repo:tag), not a digest");
    await expect(pushImage("dir:/x", `${registry.host}/a:1`)).rejects.toThrow(
      'unsupported source "dir:/x": use docker-archive:PATH or oci:DIR[:tag]',
    );
  });
});

describe("copyImage", () => {
  it("copies a multi-arch image to another registry with its digest, once", async () => {
    const multi = buildMultiArch("copied");
    await pushTestImage(registry.directHost, "acme/source", "v1", multi);
    const other = await startRegistry();
    try {
      const dest = `${other.host}/mirror/app:v1`;
      expect(await copyImage(`${registry.host}/acme/source:v1`, dest, { env: {} })).toEqual({
        digest: multi.manifest.digest,
        copied: true,
      });
      const client = createRegistryClient({ env: {} });
      expect(await client.digest(`${other.host}/mirror/app@${multi.images[0]!.manifest.digest}`)).toBe(
        multi.images[0]!.manifest.digest,
      );
      other.clearRequests();
      expect(await copyImage(`${registry.host}/acme/source:v1`, dest, { env: {} })).toEqual({
        digest: multi.manifest.digest,
        copied: false,
      });
      // The tag's HEAD, then the index (GET) and a HEAD per platform: a lost platform would be copied again.
      expect(other.requests().map((r) => r.method)).toEqual(["HEAD", "GET", "HEAD", "HEAD"]);
    } finally {
      await other.stop();
    }
  });
});

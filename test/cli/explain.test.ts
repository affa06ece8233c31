import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const v1 = buildImage({ layers: [{ "etc/app": "one\n" }], env: ["PATH=/bin", "MODE=a"] });
const v2 = buildImage({
  layers: [{ "etc/app": "one\n" }],
  env: ["PATH=/bin", "MODE=b"],
  entryMeta: { "etc/app": { mode: 0o600 } },
});

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/app", "1", v1);
  await pushTestImage(registry.directHost, "acme/app", "2", v2);
});
afterAll(() => registry?.stop());

const ref = (tag: string) => `${registry.host}/acme/app:${tag}`;
const mask = (text: string) =>
  text.replaceAll(registry.host, "<registry>").replace(/sha256:[0-9a-f]{64}/g, "<digest>");

describe("nomad-gitops-bot explain", () => {
  it("prints what differs: env, then the file whose mode changed", async () => {
    const cap = captureIO();
    expect(await main(["explain", ref("1"), ref("2")], cap.io)).toBe(0);
    expect(mask(cap.stdout)).toMatchInlineSnapshot(`
      "A <registry>/acme/app:1  <digest>
      B <registry>/acme/app:2  <digest>
      config:
        env MODE: a → b
      layers: 0 shared, 1 differ
        layer 1 (d2eadfe078b2 → b3b5b5857eee): 1 file changed (1 mode only)
          ~ etc/app  mode only: 0644 → 0600
      why: config differs: env MODE
        likely cause: a real change of the runtime configuration (env, labels, entrypoint, user…) or a value stamped per build
        remedy: if the value is per build (a commit SHA, a date), move it out of the image or make it an input
      why: 1 file(s) differ only in mode
        likely cause: file modes or owners depend on the build machine (umask, user)
        remedy: SOURCE_DATE_EPOCH with rewrite-timestamp (buildkit), \`--mtime\`/\`--owner\` on tar, or Nix/Bazel/ko which normalize file metadata
      "
    `);
    expect(cap.stderr).toBe("");
  });

  it("--json prints the data; the same image explains as identical (exit 0)", async () => {
    const cap = captureIO();
    expect(await main(["explain", "--json", ref("1"), ref("2")], cap.io)).toBe(0);
    const data = JSON.parse(cap.stdout);
    expect(data.platforms[0].config).toEqual([{ field: "env MODE", before: "a", after: "b" }]);
    expect(data.platforms[0].layers.changes[0].files).toEqual([
      { path: "etc/app", kind: "changed", aspects: ["mode"], details: { mode: "0644 → 0600" } },
    ]);
    const same = captureIO();
    expect(
      await main(["explain", ref("1"), `${registry.host}/acme/app@${v1.manifest.digest}`], same.io),
    ).toBe(0);
    expect(mask(same.stdout)).toContain("same digest: nothing moved");
  });

  it("exits 1 on a registry error and 2 on usage errors", async () => {
    const cap = captureIO();
    expect(await main(["explain", ref("1"), ref("gone")], cap.io)).toBe(1);
    expect(mask(cap.stderr)).toMatch(/^error: <registry>\/acme\/app:gone: tag "gone" not found/);
    for (const argv of [
      ["explain", ref("1")],
      ["explain", "UPPER:x", ref("1")],
      ["explain", "--max-mib", "x", ref("1"), ref("2")],
    ]) {
      const usage = captureIO();
      expect(await main(argv, usage.io)).toBe(2);
      expect(usage.stderr).toContain("usage: nomad-gitops-bot explain");
    }
  });

  it("works through the real bin (compiled dist/)", async () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const result = await execa(path.join(root, "bin/nomad-gitops-bot"), ["explain", ref("1"), ref("2")], {
      reject: false,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("~ etc/app  mode only: 0644 → 0600");
  }, 120_000);
});

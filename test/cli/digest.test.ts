import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, buildMultiArch, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const app = buildImage({ layers: [{ "etc/app": "cli-digest" }] });
const multi = buildMultiArch("cli-digest");

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/app", "1.0", app);
  await pushTestImage(registry.directHost, "acme/multi", "1.0", multi);
});
afterAll(() => registry?.stop());

describe("nomad-gitops-bot digest", () => {
  it("prints the digest of a tag", async () => {
    const cap = captureIO();
    expect(await main(["digest", `${registry.host}/acme/multi:1.0`], cap.io)).toBe(0);
    expect(cap.stdout).toBe(`${multi.manifest.digest}\n`);
    expect(cap.stderr).toBe("");
  });

  it("prints REF DIGEST lines for several refs; a missing one is an error for it only (exit 1)", async () => {
    const cap = captureIO();
    const refs = [
      `${registry.host}/acme/app:1.0`,
      `${registry.host}/acme/app:gone`,
      `${registry.host}/acme/multi:1.0`,
    ];
    expect(await main(["digest", ...refs], cap.io)).toBe(1);
    expect(cap.stdout).toBe(`${refs[0]} ${app.manifest.digest}\n${refs[2]} ${multi.manifest.digest}\n`);
    expect(cap.stderr).toBe(
      `error: ${refs[1]}: tag "gone" not found in ${registry.host}/acme/app ` +
        "(GET manifests/gone → HTTP 404: manifest unknown (MANIFEST_UNKNOWN))\n",
    );
  });

  it("exits 2 on usage errors", async () => {
    for (const argv of [["digest"], ["digest", "UPPER/case:tag"], ["digest", "--bogus", "x"]]) {
      const cap = captureIO();
      expect(await main(argv, cap.io)).toBe(2);
      expect(cap.stderr).toContain("usage: nomad-gitops-bot digest REF...");
    }
  });

  it("works through the real bin (compiled dist/)", async () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const result = await execa(
      path.join(root, "bin/nomad-gitops-bot"),
      ["digest", `${registry.host}/acme/app:1.0`],
      {
        reject: false,
      },
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: app.manifest.digest, stderr: "" });
    const missing = await execa(path.join(root, "bin/nomad-gitops-bot"), ["digest"], { reject: false });
    expect(missing.exitCode).toBe(2);
  }, 120_000);
});

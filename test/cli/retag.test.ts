import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";
import { buildMultiArch, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
const multi = buildMultiArch("cli-retag");

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry.directHost, "acme/multi", "1.0", multi);
});
afterAll(() => registry?.stop());

describe("nomad-gitops-bot retag", () => {
  it("creates new tags, reports existing ones, and uploads no blob", async () => {
    registry.clearRequests();
    const cap = captureIO();
    expect(await main(["retag", `${registry.host}/acme/multi:1.0`, "sha-abc", "1.0"], cap.io)).toBe(0);
    expect(cap.stdout).toBe(
      `created ${registry.host}/acme/multi:sha-abc ${multi.manifest.digest}\n` +
        `exists  ${registry.host}/acme/multi:1.0 ${multi.manifest.digest}\n`,
    );
    expect(registry.requests().filter((r) => r.path.includes("/blobs/"))).toEqual([]);

    const again = captureIO();
    expect(
      await main(["retag", `${registry.host}/acme/multi@${multi.manifest.digest}`, "sha-abc"], again.io),
    ).toBe(0);
    expect(again.stdout).toBe(`exists  ${registry.host}/acme/multi:sha-abc ${multi.manifest.digest}\n`);
  });

  it("prints the tags that worked and the reason for the one that failed (exit 1)", async () => {
    registry.intercept({
      request: (req) =>
        req.method === "PUT" && req.path.endsWith("/manifests/blocked")
          ? {
              status: 403,
              body: JSON.stringify({ errors: [{ code: "DENIED", message: "tag is immutable" }] }),
            }
          : undefined,
    });
    const cap = captureIO();
    try {
      expect(await main(["retag", `${registry.host}/acme/multi:1.0`, "blocked", "fine"], cap.io)).toBe(1);
    } finally {
      registry.intercept(null);
    }
    expect(cap.stdout).toBe(`created ${registry.host}/acme/multi:fine ${multi.manifest.digest}\n`);
    expect(cap.stderr).toBe(
      `error: ${registry.host}/acme/multi:1.0: blocked: PUT manifests/blocked → HTTP 403: tag is immutable (DENIED); ` +
        "no auth file found (looked for nothing: HOME is not set)\n",
    );
  });

  it("fails the image when the source does not exist (exit 1)", async () => {
    const cap = captureIO();
    expect(await main(["retag", `${registry.host}/acme/multi:nope`, "x", "y"], cap.io)).toBe(1);
    expect(cap.stdout).toBe("");
    expect(cap.stderr).toBe(
      `error: ${registry.host}/acme/multi:nope: tag "nope" not found in ${registry.host}/acme/multi ` +
        "(GET manifests/nope → HTTP 404: manifest unknown (MANIFEST_UNKNOWN))\n",
    );
  });

  it("exits 2 on usage errors", async () => {
    for (const argv of [
      ["retag"],
      ["retag", `${registry.host}/acme/multi:1.0`],
      ["retag", "a:b", "bad tag"],
    ]) {
      const cap = captureIO();
      expect(await main(argv, cap.io)).toBe(2);
      expect(cap.stderr).toContain("usage: nomad-gitops-bot retag REF TAG...");
    }
  });
});

// Issue 9 item 1 with a lying registry (the sandbox registry's intercepting proxy in front of the real
// docker-registry): a digest is written only after its bytes were fetched and hashed. A HEAD that lies,
// a GET that announces a wrong digest, or a body that does not hash to the digest announced makes that
// service an error naming the claim and the bytes' hash; the other services proceed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let repo: GitFixture;
let pinned: Record<string, string>;
let built: Record<string, string>;
let sha: string;

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};
const kiwiTag = () => `/v2/acme/kiwi/manifests/${sha}`;
const WRONG = `sha256:${"d".repeat(64)}`;

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
  pinned = await repo.build(await repo.git("rev-parse", "HEAD"));
  expect((await run("apply")).code).toBe(0);
  await repo.commit("Pin the first build");
  await repo.write("services/banana/main.txt", "banana v2\n");
  await repo.write("services/kiwi/main.txt", "kiwi v2\n");
  sha = await repo.commit("banana and kiwi v2");
  built = await repo.build(sha);
});
afterEach(() => registry.intercept(null));
afterAll(async () => {
  registry?.intercept(null);
  await repo?.remove();
  await registry?.stop();
});

/** apply fails kiwi alone: its file keeps the old pin, banana is pinned to its proven digest. */
async function expectKiwiRefused(detail: RegExp) {
  const kiwiBefore = await repo.read("nomad/kiwi.nomad.hcl");
  const out = await run("apply", "--json");
  expect(out.code).toBe(1);
  const result = JSON.parse(out.stdout) as {
    services: Array<{ name: string; status: string; reason?: string }>;
  };
  const kiwi = result.services.find((s) => s.name === "kiwi")!;
  expect(kiwi.status).toBe("error");
  expect(kiwi.reason).toMatch(detail);
  expect(await repo.read("nomad/kiwi.nomad.hcl")).toBe(kiwiBefore);
  expect(await repo.read("nomad/banana.nomad.hcl")).toContain(`banana@${built.banana}"`);
  expect(result.services.find((s) => s.name === "banana")!.status).toBe("moved");
  // Reset the files for the next fault.
  await repo.git("checkout", "--", ".");
}

describe("a registry that lies about digests", () => {
  it("[fault:head-digest-lie] a HEAD announcing a digest the bytes do not have: that service is an error, nothing pinned from it", async () => {
    registry.intercept({
      responseHeaders(req, _status, headers) {
        if (req.method === "HEAD" && req.path === kiwiTag()) headers["docker-content-digest"] = WRONG;
      },
    });
    await expectKiwiRefused(
      new RegExp(
        `the registry claimed ${WRONG} for it, but the manifest it serves hashes to ${built.kiwi}.*not pinned`,
      ),
    );
    // `digest` prints what the bytes hash to, not the HEAD's claim.
    const out = await run("digest", `${registry.host}/acme/kiwi:${sha}`);
    expect(out).toMatchObject({ code: 0, stdout: `${built.kiwi}\n` });
  });

  it("[fault:get-digest-lie] a GET announcing a digest its bytes do not hash to: error, nothing pinned", async () => {
    registry.intercept({
      responseHeaders(req, _status, headers) {
        if (req.path === kiwiTag()) headers["docker-content-digest"] = WRONG;
      },
    });
    await expectKiwiRefused(
      new RegExp(`bytes hash to ${built.kiwi}, not the ${WRONG} it announced: not trusted`),
    );
    const out = await run("digest", `${registry.host}/acme/kiwi:${sha}`);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain(`bytes hash to ${built.kiwi}`);
  });

  it("[fault:body-digest-mismatch] HEAD and GET agree on a digest but the body served is another manifest: error", async () => {
    // The body of the old kiwi image, under the new image's digest.
    const old = await fetch(`http://${registry.directHost}/v2/acme/kiwi/manifests/${pinned.kiwi}`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    const body = await old.text();
    registry.intercept({
      request(req) {
        if (req.method !== "GET" || req.path !== kiwiTag()) return undefined;
        return {
          status: 200,
          headers: {
            "content-type": "application/vnd.oci.image.manifest.v1+json",
            "docker-content-digest": built.kiwi!,
          },
          body,
        };
      },
    });
    await expectKiwiRefused(
      new RegExp(`bytes hash to ${pinned.kiwi}, not the ${built.kiwi} it announced: not trusted`),
    );
  });
});

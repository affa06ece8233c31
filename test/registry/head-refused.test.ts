// A registry (or a proxy in front of it) that answers every HEAD with 405 Method Not Allowed: lookups
// and the retag's "is the new tag already there?" check fall back to GET, whose 404 means "absent",
// and the host is asked by GET from then on. Injected by the recording proxy in front of the real
// docker-registry; `apply` retags unchanged services through it.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { createServiceRepo } from "../helpers/service-repo.js";

let registry: TestRegistry;
let tmp: string;
let repo: string;
let build: string;
const SERVICES = ["alpha", "beta", "gamma"];
const image = (name: string) => buildImage({ layers: [{ "etc/name": name }] });
const digests: Record<string, string> = {};

beforeAll(async () => {
  registry = await startRegistry();
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-head-405-"));
  repo = path.join(tmp, "repo");
  const pins: Record<string, string> = {};
  for (const s of SERVICES) {
    digests[s] = await pushTestImage(registry.directHost, `acme/${s}`, "v1", image(s));
    pins[s] = `v1@${digests[s]}`;
  }
  const git = await createServiceRepo(repo, registry.host, pins);
  await writeFile(
    path.join(repo, ".github/nomad-gitops.yml"),
    [
      `registry: ${registry.host}/acme`,
      "services:",
      ...SERVICES.map((s) => `  - { name: ${s}, image: ${registry.host}/acme/${s} }`),
      'retag: ["{sha}", deployed]',
      "",
    ].join("\n"),
  );
  await git("commit", "-qam", "retag deployed");
  build = await git("rev-parse", "HEAD");
  digests.solo = await pushTestImage(registry.directHost, "acme/solo", "v1", image("solo"));
  // The build reproduced every image: all unchanged.
  for (const s of SERVICES) await pushTestImage(registry.directHost, `acme/${s}`, build, image(s));
  registry.intercept({
    request: (req) => (req.method === "HEAD" ? { status: 405, headers: { allow: "GET, PUT" } } : undefined),
  });
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const tags = async (repository: string) => {
  const res = await fetch(`http://${registry.directHost}/v2/${repository}/tags/list`);
  return ((await res.json()) as { tags: string[] }).tags.sort();
};

describe("a registry that refuses HEAD (405)", () => {
  it("[fault:head-405] retag: a new tag's GET 404 means absent; the tag is created, then found; HEAD is not asked again", async () => {
    const client = createRegistryClient({ env: {} });
    const ref = `${registry.host}/acme/solo:v1`;
    registry.clearRequests();
    expect(await client.retag(ref, ["fresh"])).toEqual([
      { tag: "fresh", status: "created", digest: digests.solo },
    ]);
    expect(await client.retag(ref, ["fresh"])).toEqual([
      { tag: "fresh", status: "exists", digest: digests.solo },
    ]);
    expect(await client.digest(`${registry.host}/acme/solo:fresh`)).toBe(digests.solo);
    expect(
      registry.requests().map((r) => `${r.method} ${r.path.replace(/^\/v2\/acme\/solo\//, "")} ${r.status}`),
    ).toEqual([
      "HEAD manifests/fresh 405",
      "GET manifests/fresh 404",
      "GET manifests/v1 200",
      "PUT manifests/fresh 201",
      "GET manifests/fresh 200",
      "GET manifests/v1 200",
      "GET manifests/fresh 200",
    ]);
    await expect(client.digest(`${registry.host}/acme/solo:missing`)).rejects.toThrow(
      'tag "missing" not found in',
    );
  });

  it("[fault:head-405] apply retags every unchanged service (exit 0)", async () => {
    const cap = captureIO({ cwd: repo, env: { HOME: tmp } });
    const code = await main(["apply", "--json"], cap.io);
    expect(cap.stderr).toBe("");
    expect(code).toBe(0);
    const out = JSON.parse(cap.stdout) as {
      services: Array<{ name: string; status: string }>;
    };
    expect(out.services.map((s) => `${s.name} ${s.status}`)).toEqual(SERVICES.map((s) => `${s} unchanged`));
    for (const s of SERVICES) expect(await tags(`acme/${s}`)).toEqual([build, "deployed", "v1"].sort());
  });
});

// The exit status of the CLI binary (compiled dist/) with provenance.builders: awaiting a late builder is
// "not yet" (exit 0, the service listed, its job file untouched), as the Action's step and the neutral
// check run; a disagreement is a refused digest (exit 1). A real git checkout whose remote is on
// github.com, the real registry (the nix builder's bundles beside its images, read as the App reads them),
// GitHub's attestations API at the stand-in (GITHUB_API_URL), bundles signed for real by the test
// Sigstore instance and the nix builder's key.
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitFixture, type ServiceName } from "../core/git-fixture.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { pushReferrers } from "../helpers/referrers.js";
import { NIX_KEY, STAMPED_MTIME, keylessBundle, nixBundle, nixPublicKey } from "../helpers/rebuilt-build.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { type TestInstance, testInstance } from "../helpers/sigstore.js";

const BIN = new URL("../../bin/nomad-gitops-bot", import.meta.url).pathname;
const TOKEN = "ghp_CliTokenForTheStandInOnly0123456789";
const FULL_NAME = "acme/platform";
let registry: TestRegistry;
let instance: TestInstance;
let api: GitHubStandIn;
let repo: GitFixture;
let sha: string;
let built: Record<ServiceName, string>;

beforeAll(async () => {
  [registry, instance, api] = await Promise.all([
    startRegistry(),
    testInstance(),
    startGitHubApi({ tokens: { [TOKEN]: "octocat" } }),
  ]);
  api.createRepo({ owner: "acme", name: "platform", files: { "README.md": "# platform\n" } });
  repo = await GitFixture.create(registry.host, registry.directHost);
  await repo.git("remote", "add", "origin", `https://github.com/${FULL_NAME}.git`);
  const config = await repo.read(".github/nomad-gitops.yml");
  await repo.write(".github/sigstore-root.json", instance.trustedRoot);
  await repo.write(NIX_KEY, nixPublicKey);
  await repo.write(
    ".github/nomad-gitops.yml",
    `${config}build: { workflow: images.yml }
provenance:
  trusted_root: .github/sigstore-root.json
  builders:
    - { name: rebuild, workflow: rebuild.yml, runner: self-hosted, tag: "{sha}-rebuild" }
    - { name: nix, key: ${NIX_KEY}, tag: "{sha}-nix" }
`,
  );
  sha = await repo.commit("Two builders must agree");
  built = await repo.build(sha);
  for (const s of ["banana", "kiwi", "mango"] as const) {
    await attest(s, built[s], "images");
    await rebuild(s, "rebuild");
    if (s !== "kiwi") await rebuild(s, "nix"); // nix has not rebuilt kiwi yet
  }
}, 120_000);
afterAll(async () => {
  await repo?.remove();
  await Promise.all([api?.stop(), registry?.stop()]);
});

/**
 * An attestation of `digest`: the build's or rebuild's (keyless) as GitHub stores it, nix's (key) beside
 * the image in the registry, under the referrers fallback tag.
 */
async function attest(service: ServiceName, digest: string, by: "images" | "rebuild" | "nix") {
  const subject = { host: registry.host, name: `acme/${service}`, digest };
  if (by === "nix")
    return pushReferrers(registry.directHost, `acme/${service}`, digest, [nixBundle(subject)]);
  const repositoryId = String(api.repo(FULL_NAME).id);
  const bundle = await keylessBundle(instance, {
    fullName: FULL_NAME,
    repositoryId,
    sha,
    builder: by,
    subject,
  });
  api.addAttestation(FULL_NAME, digest, bundle);
}

/** A builder pushes its result under its tag and attests it; `stamped`: not reproducible. */
async function rebuild(service: ServiceName, builder: "rebuild" | "nix", stamped = false) {
  const image = stamped
    ? buildImage({
        layers: [{ "app/main.txt": await repo.read(`services/${service}/main.txt`) }],
        entryMeta: { "app/main.txt": { mtime: STAMPED_MTIME } },
      })
    : await repo.image(service);
  const digest = await pushTestImage(registry.directHost, `acme/${service}`, `${sha}-${builder}`, image);
  await attest(service, digest, builder);
}

const cli = (...args: string[]) =>
  execa(BIN, [...args, "--repo", repo.dir], {
    reject: false,
    env: {
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: api.url,
      GITHUB_REPOSITORY_ID: String(api.repo(FULL_NAME).id),
    },
  });

type Planned = { name: string; status: string; reason?: string; agreement?: { text: string } };
function services(stdout: string): Record<string, Planned> {
  const plan = JSON.parse(stdout) as { services: Planned[] };
  return Object.fromEntries(plan.services.map((s) => [s.name, s]));
}

describe("the CLI binary's exit status with provenance.builders", () => {
  it("[fault:builders-exit-status] exits 0 while a builder is late (listed, not pinned), 0 once it agrees, 1 when a builder disagrees", async () => {
    // apply --quiet: the agreed services are pinned, the late one is listed as what is left to do.
    const late = await cli("apply", "--quiet");
    expect(late.exitCode, late.stderr).toBe(0);
    expect(late.stderr).toContain(`awaiting builders (1/2, 2 needed): nix has not pushed ${sha}-nix`);
    expect(await repo.git("status", "--porcelain")).toBe(
      " M nomad/banana.nomad.hcl\n M nomad/mango.nomad.hcl\n?? RELEASES.md",
    );
    expect(await repo.read("nomad/kiwi.nomad.hcl")).not.toContain(built.kiwi);

    // The late builder arrives: the next run pins kiwi.
    await rebuild("kiwi", "nix");
    const arrived = await cli("plan", "--json");
    expect(arrived.exitCode, arrived.stderr).toBe(0);
    expect(services(arrived.stdout).kiwi).toMatchObject({
      status: "new",
      agreement: { text: "2/2 (rebuild, nix)" },
    });

    // The rebuild re-ran and was not reproducible: kiwi's digest is refused, a failure.
    await rebuild("kiwi", "rebuild", true);
    const refused = await cli("plan", "--json");
    expect(refused.exitCode).toBe(1);
    expect(services(refused.stdout).kiwi!.status).toBe("unverified");
    expect(services(refused.stdout).kiwi!.reason).toMatch(
      /^builders disagree: rebuild built [0-9a-f]{12}, the build [0-9a-f]{12}: 1 file\(s\) differ only in mtime$/,
    );
  }, 180_000);
});

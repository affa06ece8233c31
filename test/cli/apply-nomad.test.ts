// `apply --json` with `nomad.address`: the CLI prints the same Nomad report the App posts, because both
// get it from the core run (DeployOptions.cluster), against a Nomad API stand-in and the real registry.
import { afterAll, beforeAll, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type NomadStandIn, startNomad } from "../helpers/nomad.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

const TOKEN = "s3cr3t-nomad-token";
let registry: TestRegistry;
let repo: GitFixture;
let nomad: NomadStandIn;

beforeAll(async () => {
  registry = await startRegistry();
  repo = await GitFixture.create(registry.host, registry.directHost);
  nomad = await startNomad({ token: TOKEN, running: { banana: `${registry.host}/acme/banana:old` } });
  const config = await repo.read(".github/nomad-gitops.yml");
  await repo.write(".github/nomad-gitops.yml", `${config}nomad: { address: "${nomad.address}" }\n`);
  await repo.commit("Ask the cluster");
});
afterAll(async () => {
  await nomad?.stop();
  await repo?.remove();
  await registry?.stop();
});

it("apply --json carries the Nomad plan in the comment and the drift in the check run, as the App posts them", async () => {
  const sha = await repo.git("rev-parse", "HEAD");
  await repo.build(sha);
  const cap = captureIO({ cwd: repo.dir, env: { NOMAD_TOKEN: TOKEN } });
  const code = await main(["apply", "--json"], cap.io);
  expect(cap.stderr).toBe("");
  expect(code).toBe(0);
  const out = JSON.parse(cap.stdout) as {
    comment: string;
    check: { summary: string };
    commitMessage: string;
  };
  // Every rewritten job file was planned by the cluster; every service's job was read for drift.
  expect(out.comment).toContain(`#### Nomad plan (\`${nomad.address}\`)`);
  for (const job of ["banana", "kiwi", "mango"]) expect(out.comment).toContain(`nomad/${job}.nomad.hcl`);
  expect(out.check.summary).toContain(`### Cluster drift (\`${nomad.address}\`)`);
  const requests = nomad.requests().map((r) => ({ ...r, path: r.path.replace(/\?.*$/, "") }));
  expect(requests.filter((r) => r.path === "/v1/jobs/parse")).toHaveLength(3);
  expect(requests.filter((r) => /^\/v1\/job\/[a-z]+\/plan$/.test(r.path))).toHaveLength(3);
  expect(requests.filter((r) => r.method === "GET" && /^\/v1\/job\/[a-z]+$/.test(r.path))).toHaveLength(3);
  // Read-only: nothing submitted; the token went in the header only.
  expect(requests.filter((r) => r.path === "/v1/jobs")).toEqual([]);
  expect(requests.every((r) => r.authorized)).toBe(true);
  expect(cap.stdout).not.toContain(TOKEN);
  expect(out.commitMessage).toMatch(/\n\nNomad-Gitops-Build: [0-9a-f]{40}\n$/);
});

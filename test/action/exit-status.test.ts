// The Action's step fails exactly when its check run does, as the CLI exits (one rule, `runFailures`): a
// config key that selects nothing makes the plan incomplete, so the check run fails and so does the step,
// while the service that moved still goes to the deploy PR. Run from its bundle as the runner runs it,
// against the GitHub API stand-in and the real registry.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configText, image, jobFile } from "../app/scenario.js";
import { type GitHubStandIn, startGitHubApi } from "../helpers/github-api/index.js";
import { pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { buildActionBundle, runActionStep } from "./runner.js";

const TOKEN = "ghs_WorkflowTokenForTheExitStatus0123456";
let api: GitHubStandIn;
let registry: TestRegistry;
let work: string;
let entry: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "ngb-action-exit-"));
  [api, registry, entry] = await Promise.all([
    startGitHubApi({ tokens: { [TOKEN]: "github-actions[bot]" } }),
    startRegistry(),
    buildActionBundle(work),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([api?.stop(), registry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe("the Action's exit status", () => {
  it("[fault:vars-glob-matches-nothing] a config key that selects nothing fails the step as it fails the check run; the moved service is still pinned", async () => {
    const { sha: first } = api.createRepo({
      owner: "acme",
      name: "typo",
      files: { "README.md": "# typo\n" },
    });
    const old = await pushTestImage(registry.directHost, "acme/till", first, image("till", 1));
    api.pushCommit(
      "acme/typo",
      "main",
      {
        ".github/nomad-gitops.yml": configText(
          registry.host,
          ["till"],
          "vars:\n  'deploy/*.nomad.hcl': [nomad/prod.vars.hcl]\n",
        ),
        "nomad/prod.vars.hcl": "# no values yet\n",
        "nomad/till.nomad.hcl": jobFile(registry.host, "till", `${first}@${old}`),
      },
      "vars for a folder that does not exist",
    );
    const sha = api.pushCommit("acme/typo", "main", { "services/till/main.go": "// v2\n" }, "till: v2");
    const built = await pushTestImage(registry.directHost, "acme/till", sha, image("till", 2));

    const run = await runActionStep({ entry, api, token: TOKEN, repo: "acme/typo", sha, parent: work });
    const check = api
      .repo("acme/typo")
      .checkRuns.find((c) => c.headSha === sha && c.name === "nomad-gitops")!;
    expect(check).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(run.exitCode).toBe(1);
    expect(run.summary).toContain(
      'config `vars["deploy/*.nomad.hcl"]`: "deploy/*.nomad.hcl" matches no job file',
    );
    expect(run.outputs.moved).toBe("till");
    const head = api.repo("acme/typo").pulls[0]!.head;
    expect(api.file("acme/typo", head, "nomad/till.nomad.hcl")).toContain(`/acme/till@${built}"`);
  });
});

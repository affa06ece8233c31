// The App as shipped (its own process, signed webhooks over HTTP, the GitHub API stand-in serving the
// attestations endpoint, the real registry holding push-to-registry attestations under the fallback tag)
// in a repository that requires provenance: the real build's digests are pinned, the tags a pull
// request's build pushed over them are refused as `unverified`, and the check run is not green.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import { SERVICES, attestedBuild } from "../helpers/attested-build.js";
import {
  type GitHubStandIn,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { workflowGrants } from "../helpers/github-api/permissions.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { type TestInstance, testInstance } from "../helpers/sigstore.js";
import { waitForCheck } from "../scale/fleet.js";

let registry: TestRegistry;
let api: GitHubStandIn;
let app: AppProcess;
let instance: TestInstance;

beforeAll(async () => {
  instance = await testInstance();
  registry = await startRegistry();
  api = await startGitHubApi();
  app = await startAppProcess({ api, env: { NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host } });
  api.webhookUrls = [app.webhookUrl];
});
afterAll(async () => {
  await app?.stop();
  await api?.stop();
  await registry?.stop();
});

const pinned = (service: string, digest: string) => `"${registry.host}/acme/${service}@${digest}"`;

describe("the App with provenance required", () => {
  it("[fault:provenance-untrusted-build] pins the attested build and refuses the pull request build's tags", async () => {
    const b = await attestedBuild(api, registry, instance, { name: "shop" });
    await sendPush(api, b.fullName, "main");
    const delivery = await sendWorkflowRun(api, b.fullName, { sha: b.sha });
    expect(delivery.statusCode).toBeLessThan(300);
    const check = await waitForCheck(api, b.fullName, b.sha);
    expect(check.conclusion).toBe("failure");
    const summary = `${check.output.summary ?? ""}\n${check.output.text ?? ""}`;

    // The refused services, each with the check that failed.
    const row = (service: string) => summary.split("\n").find((l) => l.startsWith(`| ${service} |`)) ?? "";
    expect(row("worker")).toContain("unverified (not pinned)");
    expect(row("worker")).toContain(`unverified: attestation — no attestation found for ${b.tagged.worker}`);
    expect(row("cache")).toContain("unverified (not pinned)");
    expect(row("cache")).toContain(
      `unverified: workflow — signed by "https://github.com/${b.fullName}/.github/workflows/images.yml@refs/pull/7/merge", expected https://github.com/${b.fullName}/.github/workflows/images.yml@refs/heads/main`,
    );
    for (const s of ["api", "web"])
      expect(row(s)).toContain(`, [run 42](https://github.com/${b.fullName}/actions/runs/42/attempts/1)`);

    // One deploy PR, pinning the two attested digests and nothing else.
    const pulls = api.repo(b.fullName).pulls;
    expect(pulls).toHaveLength(1);
    const head = pulls[0]!.head;
    for (const s of ["api", "web"] as const) {
      const text = api.file(b.fullName, head, `nomad/${s}.nomad.hcl`);
      expect(text).toContain(pinned(s, b.built[s]));
    }
    for (const s of ["worker", "cache"] as const)
      expect(api.file(b.fullName, head, `nomad/${s}.nomad.hcl`)).toBe(b.jobFiles[`nomad/${s}.nomad.hcl`]);
    // The refused digests are no pin anywhere: no job file has them, and the PR and the comment name
    // them only as refused.
    const jobs = SERVICES.map((s) => api.file(b.fullName, head, `nomad/${s}.nomad.hcl`) ?? "").join("\n");
    const texts = [pulls[0]!.body, ...api.repo(b.fullName).comments.map((c) => c.body)].join("\n");
    for (const refused of [b.tagged.worker, b.tagged.cache]) {
      expect(jobs).not.toContain(refused);
      for (const line of texts.split("\n").filter((l) => l.includes(refused)))
        expect(line).toContain("unverified");
    }
  });

  it("[fault:attestations-forbidden] says the installation lacks attestations: read, and pins nothing", async () => {
    const grants = workflowGrants({
      contents: "write",
      "pull-requests": "write",
      checks: "write",
      actions: "write",
      deployments: "write",
      issues: "write",
    });
    api.setInstallationPermissions("lacking", grants);
    const b = await attestedBuild(api, registry, instance, { owner: "lacking", name: "shop" });
    await sendPush(api, b.fullName, "main");
    await sendWorkflowRun(api, b.fullName, { sha: b.sha });
    const check = await waitForCheck(api, b.fullName, b.sha);
    expect(check.conclusion).toBe("failure");
    const summary = `${check.output.summary ?? ""}\n${check.output.text ?? ""}`;
    expect(summary).toContain(
      "GitHub refused to list attestations (403): the App or token needs the `attestations: read` permission on lacking/shop",
    );
    expect(summary).not.toContain("no attestation");
    const refused = api.requests().filter((r) => r.repo === b.fullName && r.route.includes("/attestations/"));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.status === 403)).toBe(true);
    // Nothing verified, so nothing to pin: no deploy PR.
    expect(api.repo(b.fullName).pulls).toHaveLength(0);
  });
});

// Independent builders through the App as shipped: its own process, signed webhooks over HTTP, the GitHub
// API stand-in (attestations endpoint included), the real registry holding each builder's tag (and the
// key builder's bundle under the referrers fallback tag), bundles signed for real. What a person sees:
// the deploy PR's files and body, the check run, the sticky comment, and what the registry was asked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  sendPush,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { REBUILD_RUN, type RebuiltRepo, rebuiltRepo } from "../helpers/rebuilt-build.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { type TestInstance, testInstance } from "../helpers/sigstore.js";
import { waitForCheck } from "../scale/fleet.js";

let registry: TestRegistry;
let api: GitHubStandIn;
let app: AppProcess;
let instance: TestInstance;

beforeAll(async () => {
  [instance, registry, api] = await Promise.all([testInstance(), startRegistry(), startGitHubApi()]);
  app = await startAppProcess({ api, env: { NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host } });
  api.webhookUrls = [app.webhookUrl];
}, 60_000);
afterAll(async () => {
  await app?.stop();
  await api?.stop();
  await registry?.stop();
});

const short = (digest: string) => digest.slice("sha256:".length, "sha256:".length + 12);
const pin = (service: string, digest: string) => `"${registry.host}/acme/${service}@${digest}"`;
/** The row of `service` in a markdown table. */
const row = (text: string, service: string) =>
  text.split("\n").find((l) => l.startsWith(`| ${service} |`)) ?? "";
const checkText = (c: { output: { summary?: string; text?: string } }) =>
  `${c.output.summary ?? ""}\n${c.output.text ?? ""}`;

/** The build's push and its images.yml run, as GitHub sends them; the check run once it completed. */
async function build(b: RebuiltRepo) {
  await sendPush(api, b.fullName, "main");
  const delivery = await sendWorkflowRun(api, b.fullName, { sha: b.sha });
  expect(delivery.statusCode).toBeLessThan(300);
  return waitForCheck(api, b.fullName, b.sha);
}

/** The one deploy PR, its job file of `service`, and the sticky comment. */
function deployPr(b: RebuiltRepo) {
  const state = api.repo(b.fullName);
  expect(state.pulls).toHaveLength(1);
  const pr = state.pulls[0]!;
  const comments = state.comments.filter((c) => c.body.includes("nomad-gitops"));
  return {
    pr,
    comment: comments.map((c) => c.body).join("\n"),
    job: (service: string) => api.file(b.fullName, pr.head, `nomad/${service}.nomad.hcl`),
  };
}

describe("the App process with provenance.builders", () => {
  it("[fault:builders-agree] pins a digest both builders reproduced and attested, showing builders agree 2/2", async () => {
    const b = await rebuiltRepo(api, registry, instance, {
      name: "agree",
      services: { cart: { rebuild: "same", nix: "same" } },
    });
    registry.clearRequests();
    const check = await build(b);
    expect(check.conclusion).toBe("success");
    expect(row(checkText(check), "cart")).toContain("builders agree 2/2 (rebuild, nix)");

    const { pr, comment, job } = deployPr(b);
    expect(job("cart")).toContain(pin("cart", b.built.cart!));
    // The PR body and the comment show the agreement beside the verdict, as the check run does.
    for (const text of [pr.body, comment])
      expect(row(text, "cart")).toMatch(/verified: .*; builders agree 2\/2 \(rebuild, nix\) \|$/);
    // One HEAD of each builder's tag: the registry is asked, never written, about the builders' results.
    const builderTags = registry
      .requests()
      .filter((r) => /-(rebuild|nix)$/.test(r.path))
      .map((r) => `${r.method} ${r.path}`);
    expect(builderTags.sort()).toEqual([
      `HEAD /v2/acme/cart/manifests/${b.sha}-nix`,
      `HEAD /v2/acme/cart/manifests/${b.sha}-rebuild`,
    ]);
  });

  it("[fault:builders-disagree] refuses a digest a builder did not reproduce, the explainer's finding as the reason", async () => {
    const b = await rebuiltRepo(api, registry, instance, {
      name: "disagree",
      services: { search: { rebuild: "stamped", nix: "same" }, mail: { rebuild: "same", nix: "same" } },
    });
    registry.clearRequests();
    const check = await build(b);
    expect(check.conclusion).toBe("failure");
    const text = checkText(check);
    expect(row(text, "search")).toContain("unverified (not pinned)");
    const reason = new RegExp(
      `builders disagree: rebuild built [0-9a-f]{12}, the build ${short(b.built.search!)}: 1 file\\(s\\) differ only in mtime`,
    );
    expect(row(text, "search")).toMatch(reason);
    // One reading: not pinned, and why; the build's signature comes after, as what it proves.
    expect(row(text, "search")).toMatch(
      new RegExp(
        `\\| not pinned: ${reason.source}; agreed: 1/2 \\(nix\\); the build's own signature is verified: `,
      ),
    );
    expect(row(text, "search")).not.toContain("builders agree");
    expect(row(text, "mail")).toContain("builders agree 2/2 (rebuild, nix)");

    // The other service proceeds; the refused digest is in no job file, and the comment says why.
    const { comment, job } = deployPr(b);
    expect(job("mail")).toContain(pin("mail", b.built.mail!));
    expect(job("search")).toBe(b.jobFiles["nomad/search.nomad.hcl"]);
    const said = comment.split("\n").find((l) => l.includes("**search**")) ?? "";
    expect(said).toMatch(reason);
    // Nothing was written to the registry for the refused service: its tags are as the builds left them.
    const writes = registry.requests().filter((r) => r.method !== "GET" && r.method !== "HEAD");
    expect(writes.filter((r) => r.path.startsWith("/v2/acme/search/"))).toEqual([]);
  });

  it("[fault:builders-late-app] keeps the old pin while a builder is late, then pins when its workflow_run arrives", async () => {
    const b = await rebuiltRepo(api, registry, instance, {
      name: "late",
      services: { queue: { rebuild: "late", nix: "same" }, ledger: { rebuild: "same", nix: "same" } },
    });
    const first = await build(b);
    expect(first.conclusion).toBe("neutral");
    expect(first.output.title).toContain("1 awaiting builders");
    expect(row(checkText(first), "queue")).toContain("awaiting builders (1/2)");
    expect(checkText(first)).toContain(
      `awaiting builders (1/2, 2 needed): rebuild has not pushed ${b.sha}-rebuild`,
    );
    const before = deployPr(b);
    expect(before.job("ledger")).toContain(pin("ledger", b.built.ledger!));
    expect(before.job("queue")).toBe(b.jobFiles["nomad/queue.nomad.hcl"]);
    expect(before.comment).toContain(
      `**queue** awaiting builders (1/2, 2 needed): rebuild has not pushed ${b.sha}-rebuild`,
    );

    // The self-hosted rebuild finishes: it pushes its tag, attests it, and GitHub sends its workflow_run.
    await b.arrive("queue", "rebuild");
    const runs = api.repo(b.fullName).checkRuns.length;
    const delivery = await sendWorkflowRun(api, b.fullName, {
      sha: b.sha,
      workflow: "rebuild.yml",
      event: "workflow_run",
      runId: REBUILD_RUN,
    });
    expect(delivery.statusCode).toBeLessThan(300);
    const second = await waitForNewCheck(b, runs);
    expect(second.conclusion).toBe("success");
    expect(row(checkText(second), "queue")).toContain("builders agree 2/2 (rebuild, nix)");

    // The same deploy PR now pins both; the first check run keeps what it said then.
    const after = deployPr(b);
    expect(after.pr.number).toBe(before.pr.number);
    expect(after.job("queue")).toContain(pin("queue", b.built.queue!));
    expect(after.job("ledger")).toContain(pin("ledger", b.built.ledger!));
    expect(after.comment).not.toContain("awaiting builders");
    expect(row(after.comment, "queue")).toContain("builders agree 2/2 (rebuild, nix)");
    expect(api.repo(b.fullName).checkRuns.find((c) => c.id === first.id)?.conclusion).toBe("neutral");
  });
});

/** Waits (bounded) for a check run on the build commit newer than the `known` first ones, completed. */
async function waitForNewCheck(b: RebuiltRepo, known: number) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const runs = api.repo(b.fullName).checkRuns.filter((r) => r.headSha === b.sha);
    const added = api.repo(b.fullName).checkRuns.length > known ? runs[runs.length - 1] : undefined;
    if (added?.status === "completed") return added;
    if (Date.now() > deadline) throw new Error(`no new completed check run on ${b.fullName}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The deploy dashboard end to end: the App in its own process (`node dist/server.js`) receiving signed
// webhooks from the GitHub API stand-in, a real registry, and the Nomad stand-in. A build writes the
// dashboard (its "last moved" dates read from the job files' history, each Nomad job read once); a person
// adds notes and ticks "retag unchanged now", then "plan again now": the App runs the request, unticks the
// box and rewrites its section in place, keeping the notes. Its own edits and redeliveries do nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, pushTestImage } from "../../src/demo/sandbox/oci.js";
import { type AppProcess, startAppProcess } from "../helpers/app-process.js";
import {
  type GitHubStandIn,
  issueEditedPayload,
  sendWorkflowRun,
  startGitHubApi,
} from "../helpers/github-api/index.js";
import { type NomadStandIn, startNomad } from "../helpers/nomad.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let api: GitHubStandIn;
let nomad: NomadStandIn;
let app: AppProcess;

const NAME = "dash";
const REPO = `acme/${NAME}`;
const START = "<!-- nomad-gitops:dashboard:start -->";

beforeAll(async () => {
  [registry, api] = await Promise.all([startRegistry(), startGitHubApi()]);
  nomad = await startNomad({
    running: {
      web: `${registry.host}/${NAME}/web:running`,
      api: `${registry.host}/${NAME}/api:running`,
    },
    rollout: { web: "successful", api: "successful" },
  });
  app = await startAppProcess({ api, env: { NOMAD_GITOPS_INSECURE_REGISTRIES: registry.host } });
  api.webhookUrls = [app.webhookUrl];
}, 90_000);
afterAll(async () => {
  await app?.stop();
  await Promise.all([api?.stop(), nomad?.stop(), registry?.stop()]);
});

function jobFile(job: string, ref: string, memory = 128): string {
  return `job "${job}" {\n  group "app" {\n    task "server" {\n      driver = "docker"\n      config {\n        image = "${ref}"\n      }\n      resources {\n        memory = ${memory}\n      }\n    }\n  }\n}\n`;
}

const image = (service: string, version: string) =>
  buildImage({ layers: [{ "srv/app.txt": `${service} ${version}\n` }] });
const push = (service: string, tag: string, version: string) =>
  pushTestImage(registry.host, `${NAME}/${service}`, tag, image(service, version));
const ref = (service: string, tag: string, digest: string) =>
  `${registry.host}/${NAME}/${service}:${tag}@${digest}`;
const short = (sha: string) => sha.slice(0, 7);

function dashboards() {
  return api.repo(REPO).issues.filter((i) => i.body.includes(START));
}

/** The cells of a service's row in the dashboard table. */
function row(body: string, service: string): string[] {
  const line = body.split("\n").find((l) => l.startsWith(`| **${service}** |`));
  if (!line) throw new Error(`no row for ${service} in:\n${body}`);
  return line.split(" | ").map((c) => c.trim());
}

/** Nomad requests by path since `from` (an index into the stand-in's log). */
function nomadReads(from: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of nomad.requests().slice(from))
    if (r.method === "GET") counts[r.path] = (counts[r.path] ?? 0) + 1;
  return counts;
}

const ONE_READ_PER_JOB = {
  "/v1/job/api?namespace=default": 1,
  "/v1/job/api/deployment?namespace=default": 1,
  "/v1/job/web?namespace=default": 1,
  "/v1/job/web/deployment?namespace=default": 1,
};

const writes = () =>
  api
    .requests()
    .filter((r) => r.write)
    .map((r) => `${r.route}`);

describe("the deploy dashboard, driven by the App", () => {
  it("written after a build, then a person's ticks run the plan or the retag and the section is rewritten in place", async () => {
    const config = [
      "build: { workflow: images.yml }",
      `registry: ${registry.host}/${NAME}`,
      'retag: ["deployed-{short_sha}"]',
      "dashboard: true",
      `nomad: { address: "${nomad.address}" }`,
      "",
    ].join("\n");
    const first = api.createRepo({ owner: "acme", name: NAME, files: { "README.md": "shop\n" } });
    const webV0 = await push("web", first.sha, "v0");
    const apiV1 = await push("api", first.sha, "v1");
    const pinned = api.pushCommit(
      REPO,
      "main",
      {
        ".github/nomad-gitops.yml": config,
        "nomad/web.nomad.hcl": jobFile("web", ref("web", first.sha, webV0)),
        "nomad/api.nomad.hcl": jobFile("api", ref("api", first.sha, apiV1)),
      },
      "pin web and api",
    );
    // web's digest moves in a commit of its own (as a merged deploy PR does), then its job file changes
    // again without touching the pin: the move is the first of the two.
    const webV1 = await push("web", pinned, "v1");
    const moved = api.pushCommit(
      REPO,
      "main",
      { "nomad/web.nomad.hcl": jobFile("web", ref("web", pinned, webV1)) },
      "Deploy web",
    );
    const tweak = api.pushCommit(
      REPO,
      "main",
      { "nomad/web.nomad.hcl": jobFile("web", ref("web", pinned, webV1), 256) },
      "web: more memory",
    );
    const webV2 = await push("web", tweak, "v2");
    await push("api", tweak, "v1");

    // 1. The build of `tweak`: web moved (deploy PR), api unchanged; the dashboard is created.
    let mark = nomad.requests().length;
    const built = await sendWorkflowRun(api, REPO, { sha: tweak });
    expect(built.statusCode, app.logs()).toBe(200);
    const pr = api.repo(REPO).pulls.find((p) => p.state === "open")!;
    expect(pr).toBeDefined();
    expect(dashboards()).toHaveLength(1);
    const created = dashboards()[0]!;
    expect(created.user.login).toBe("nomad-gitops[bot]");
    // "digest last moved": the commit that set the pinned digest, from the history, not the run's date.
    expect(row(created.body, "web")[3]).toContain(`[\`${short(moved)}\`]`);
    expect(row(created.body, "web")[3]).not.toContain("≤");
    expect(row(created.body, "api")[3]).toContain(`[\`${short(pinned)}\`]`);
    expect(row(created.body, "web")[4]).toContain(`→ \`${short(tweak)}\``);
    expect(row(created.body, "api")[5]).toContain("last rollout");
    // The report (check run) and the dashboard share each job's read: once per job, plus its rollout.
    expect(nomadReads(mark)).toEqual(ONE_READ_PER_JOB);

    // 2. A docs commit is built (same images), and a person writes around the section and ticks
    // "retag unchanged now".
    const docs = api.pushCommit(REPO, "main", { "README.md": "shop, documented\n" }, "docs");
    await push("web", docs, "v2");
    await push("api", docs, "v1");
    const note = "Team note: deploys on Tuesdays.\n\n";
    const footer = "\n\n---\nOn call: @alice\n";
    const tick = (body: string, box: string) =>
      body.replace(`- [ ] <!-- nomad-gitops:${box} -->`, `- [x] <!-- nomad-gitops:${box} -->`);
    const edited = `${note}${tick(created.body, "retag").trimEnd()}${footer}`;
    const prHead = api.repo(REPO).refs.get("refs/heads/nomad-gitops/deploy");
    const retagTag = `deployed-${short(docs)}`;
    const tagged = () =>
      fetch(`http://${registry.host}/v2/${NAME}/api/manifests/${retagTag}`, {
        method: "HEAD",
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      }).then((r) => (r.ok ? r.headers.get("docker-content-digest") : null));
    expect(await tagged()).toBeNull();
    api.clearRequests();
    mark = nomad.requests().length;
    const retagEvent = issueEditedPayload(api, REPO, {
      number: created.number,
      body: edited,
      sender: "jane",
      updatedAt: "2026-11-29T20:00:00Z",
    });
    expect((await api.deliver("issues", retagEvent)).statusCode, app.logs()).toBe(200);
    expect(await tagged()).toBe(apiV1);
    // The PR is left as it is: no commit, no PR edit; the box is unticked first, the section rewritten last.
    expect(api.repo(REPO).refs.get("refs/heads/nomad-gitops/deploy")).toBe(prHead);
    expect(writes()).toEqual([
      "PATCH /repos/:owner/:repo/issues/:number",
      "POST /repos/:owner/:repo/check-runs",
      "PATCH /repos/:owner/:repo/check-runs/:id",
      "PATCH /repos/:owner/:repo/issues/:number",
    ]);
    expect(nomadReads(mark)).toEqual(ONE_READ_PER_JOB);
    expect(dashboards()).toHaveLength(1);
    const afterRetag = dashboards()[0]!;
    expect(afterRetag.number).toBe(created.number);
    expect(afterRetag.body.startsWith(`${note}${START}`)).toBe(true);
    expect(afterRetag.body.endsWith(`<!-- nomad-gitops:dashboard:end -->${footer}`)).toBe(true);
    expect(afterRetag.body).not.toContain("- [x]");
    expect(afterRetag.body).toContain(`last planned for build [\`${short(docs)}\`]`);
    const check = api
      .repo(REPO)
      .checkRuns.filter((c) => c.headSha === docs)
      .at(-1)!;
    expect(check).toMatchObject({ status: "completed", conclusion: "success" });

    // 3. The same event redelivered: the tick was taken in, so nothing is read further or written.
    api.clearRequests();
    expect((await api.deliver("issues", retagEvent, { redelivery: true })).statusCode).toBe(200);
    expect(writes()).toEqual([]);
    expect(dashboards()[0]!.body).toBe(afterRetag.body);

    // 4. "Plan again now": the deploy PR is rewritten for the branch head, the notes are kept.
    api.clearRequests();
    mark = nomad.requests().length;
    const again = issueEditedPayload(api, REPO, {
      number: created.number,
      body: tick(afterRetag.body, "plan-again"),
      sender: "jane",
      updatedAt: "2026-11-29T20:05:00Z",
    });
    expect((await api.deliver("issues", again)).statusCode, app.logs()).toBe(200);
    expect(api.file(REPO, "nomad-gitops/deploy", "nomad/web.nomad.hcl")).toBe(
      jobFile("web", ref("web", docs, webV2), 256),
    );
    expect(
      api
        .repo(REPO)
        .pulls.filter((p) => p.state === "open")
        .map((p) => p.number),
    ).toEqual([pr.number]);
    expect(writes().filter((w) => w === "POST /repos/:owner/:repo/issues")).toEqual([]);
    expect(nomadReads(mark)).toEqual(ONE_READ_PER_JOB);
    const afterPlan = dashboards()[0]!;
    expect(dashboards()).toHaveLength(1);
    expect(afterPlan.body.startsWith(`${note}${START}`)).toBe(true);
    expect(afterPlan.body.endsWith(footer)).toBe(true);
    expect(afterPlan.body).not.toContain("- [x]");
    expect(row(afterPlan.body, "web")[4]).toContain(`→ \`${short(docs)}\``);

    // 5. The bot's own edit (its rewrite arrives as issues.edited too) never starts a run, even with a
    // ticked box in it: not a single request.
    api.clearRequests();
    const own = issueEditedPayload(api, REPO, {
      number: created.number,
      body: tick(afterPlan.body, "plan-again"),
      sender: "bot",
      updatedAt: "2026-11-29T20:10:00Z",
    });
    expect((await api.deliver("issues", own)).statusCode).toBe(200);
    expect(api.requests()).toEqual([]);
    expect(api.repo(REPO).checkRuns.filter((c) => c.headSha === docs)).toHaveLength(2);
  }, 180_000);
});

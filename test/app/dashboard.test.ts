// The deploy dashboard end to end: the App in its own process (`node dist/server.js`) receiving signed
// webhooks from the GitHub API stand-in, a real registry, and the Nomad stand-in. A build writes the
// dashboard (its "last moved" dates read from the job files' history, each Nomad job read once); a person
// adds notes and ticks "retag unchanged now", then "plan again now": the App runs the request, unticks the
// box and rewrites its section in place, keeping the notes. Its own edits and redeliveries do nothing.
// Webhooks are answered before the work runs: each step waits for what the work writes last (the
// dashboard), and a step that must do nothing is followed by one that does, in the same repository's
// queue, so its absence of writes is measured once the later step has finished.
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
/** What the bot writes (`pin: digest`, the default); `ref` above is the older tag+digest form. */
const pin = (service: string, digest: string) => `${registry.host}/${NAME}/${service}@${digest}`;

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

/** Polls (bounded) until `done` holds: the App's work runs after the webhook's answer. */
async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${app.logs().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const writes = () =>
  api
    .requests()
    .filter((r) => r.write)
    .map((r) => `${r.route}`);

const ISSUE_PATCH = "PATCH /repos/:owner/:repo/issues/:number";
/** A retag request: the box unticked first, its own check run, the section rewritten last. */
const RETAG_WRITES = [
  ISSUE_PATCH,
  "POST /repos/:owner/:repo/check-runs",
  "PATCH /repos/:owner/:repo/check-runs/:id",
  ISSUE_PATCH,
];
const checksOn = (sha: string) => api.repo(REPO).checkRuns.filter((c) => c.headSha === sha).length;
const completedOn = (sha: string) =>
  api.repo(REPO).checkRuns.filter((c) => c.headSha === sha && c.status === "completed").length;

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
    await until("the dashboard", () => dashboards().length > 0);
    const pr = api.repo(REPO).pulls.find((p) => p.state === "open")!;
    expect(pr).toBeDefined();
    expect(dashboards()).toHaveLength(1);
    const created = { ...dashboards()[0]! };
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
    /** A docs-only commit on main, built: web v2 and api v1 again. */
    const newBuild = async (readme: string) => {
      const sha = api.pushCommit(REPO, "main", { "README.md": readme }, "docs");
      await push("web", sha, "v2");
      await push("api", sha, "v1");
      return sha;
    };
    const docs = await newBuild("shop, documented\n");
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
    const plannedFor = (sha: string) => `last planned for build [\`${short(sha)}\`]`;
    await until("the retag's dashboard", () => dashboards()[0]!.body.includes(plannedFor(docs)));
    expect(await tagged()).toBe(apiV1);
    // The PR is left as it is: no commit, no PR edit; the box is unticked first, the section rewritten last.
    expect(api.repo(REPO).refs.get("refs/heads/nomad-gitops/deploy")).toBe(prHead);
    expect(writes()).toEqual(RETAG_WRITES);
    expect(nomadReads(mark)).toEqual(ONE_READ_PER_JOB);
    expect(dashboards()).toHaveLength(1);
    const afterRetag = { ...dashboards()[0]! };
    expect(afterRetag.number).toBe(created.number);
    expect(afterRetag.body.startsWith(`${note}${START}`)).toBe(true);
    expect(afterRetag.body.endsWith(`<!-- nomad-gitops:dashboard:end -->${footer}`)).toBe(true);
    expect(afterRetag.body).not.toContain("- [x]");
    expect(afterRetag.body).toContain(plannedFor(docs));
    const check = api
      .repo(REPO)
      .checkRuns.filter((c) => c.headSha === docs)
      .at(-1)!;
    expect(check).toMatchObject({ status: "completed", conclusion: "success" });

    // 3. The person ticks "plan again now", and the retag edit's event is redelivered before the new
    // edit's event: whichever event reads the issue first takes the tick in (under the new edit's name),
    // the other finds no tick. The plan runs once: the deploy PR is rewritten for the branch head, the notes
    // are kept, and the issue is written twice (untick, rewrite).
    // (A newer commit is built first: a request's dashboard that says what the issue says is not written.)
    const docs2 = await newBuild("shop, documented twice\n");
    api.clearRequests();
    mark = nomad.requests().length;
    const again = issueEditedPayload(api, REPO, {
      number: created.number,
      body: tick(afterRetag.body, "plan-again"),
      sender: "jane",
      updatedAt: "2026-11-29T20:05:00Z",
    });
    expect((await api.deliver("issues", retagEvent, { redelivery: true })).statusCode).toBe(200);
    expect((await api.deliver("issues", again)).statusCode, app.logs()).toBe(200);
    await until("the plan's dashboard", () => completedOn(docs2) === 1 && writes().at(-1) === ISSUE_PATCH);
    expect(checksOn(docs2)).toBe(1);
    expect(checksOn(docs)).toBe(1);
    expect(writes().filter((w) => w === ISSUE_PATCH)).toHaveLength(2);
    expect(api.file(REPO, "nomad-gitops/deploy", "nomad/web.nomad.hcl")).toBe(
      jobFile("web", pin("web", webV2), 256),
    );
    expect(
      api
        .repo(REPO)
        .pulls.filter((p) => p.state === "open")
        .map((p) => p.number),
    ).toEqual([pr.number]);
    expect(writes().filter((w) => w === "POST /repos/:owner/:repo/issues")).toEqual([]);
    expect(nomadReads(mark)).toEqual(ONE_READ_PER_JOB);
    const afterPlan = { ...dashboards()[0]! };
    expect(dashboards()).toHaveLength(1);
    expect(afterPlan.body.startsWith(`${note}${START}`)).toBe(true);
    expect(afterPlan.body.endsWith(footer)).toBe(true);
    expect(row(afterPlan.body, "web")[4]).toContain(`→ \`${short(docs2)}\``);
    expect(afterPlan.body).toContain(plannedFor(docs2));

    // 4. The bot's own edit (its rewrite arrives as issues.edited too) never starts a run, even with a
    // ticked box in its payload, and the plan-again event redelivered has no tick of its own left. A
    // person's retag tick with them in the queue is then run once, by whichever event reads it: one check
    // run, the four writes of step 2, nothing more.
    const docs3 = await newBuild("shop, documented thrice\n");
    api.clearRequests();
    const own = issueEditedPayload(api, REPO, {
      number: created.number,
      body: tick(afterPlan.body, "plan-again"),
      sender: "bot",
      updatedAt: "2026-11-29T20:10:00Z",
    });
    api.repo(REPO).issues.find((i) => i.number === created.number)!.body = afterPlan.body;
    expect((await api.deliver("issues", own)).statusCode).toBe(200);
    expect((await api.deliver("issues", again, { redelivery: true })).statusCode).toBe(200);
    const probe = issueEditedPayload(api, REPO, {
      number: created.number,
      body: tick(afterPlan.body, "retag"),
      sender: "jane",
      updatedAt: "2026-11-29T20:15:00Z",
    });
    expect((await api.deliver("issues", probe)).statusCode).toBe(200);
    await until("the probe's run", () => completedOn(docs3) === 1 && writes().at(-1) === ISSUE_PATCH);
    expect(checksOn(docs3)).toBe(1);
    expect(checksOn(docs2)).toBe(1);
    expect(writes()).toEqual(RETAG_WRITES);
  }, 180_000);
});

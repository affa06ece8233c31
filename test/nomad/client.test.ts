// The Nomad client and the run/rollout reports against the HTTP stand-in on 127.0.0.1.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NomadApiError, NomadClient, nomadClientFor } from "../../src/nomad/client.js";
import { planIndexMarker, readPlanIndexes } from "../../src/nomad/preview-index.js";
import { checkDrift, planIndexesOf, planJobFiles } from "../../src/nomad/report.js";
import type { DeploymentsPort } from "../../src/core/ports.js";
import { reportRollouts } from "../../src/nomad/rollout.js";
import { parseConfig } from "../../src/config/schema.js";
import { type NomadStandIn, closedAddress, fixture, startNomad } from "../helpers/nomad.js";

const TOKEN = "9a1b2c3d-secret-nomad-token-0000";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const jobFile = (job: string, digest: string) =>
  `job "${job}" {\n  group "app" {\n    task "server" {\n      driver = "docker"\n      config {\n        image = "ghcr.io/acme/${job}:2@${digest}"\n      }\n    }\n  }\n}\n`;

let nomad: NomadStandIn | undefined;

/** The error a call fails with (the test fails when it succeeds). */
async function failure(pending: Promise<unknown>): Promise<NomadApiError> {
  try {
    await pending;
  } catch (error) {
    return error as NomadApiError;
  }
  throw new Error("expected the call to fail");
}
afterEach(async () => {
  await nomad?.stop();
  nomad = undefined;
});

const client = (address: string, extra: Partial<ConstructorParameters<typeof NomadClient>[0]> = {}) =>
  new NomadClient({ address, token: TOKEN, timeoutMs: 2_000, ...extra });

describe("NomadClient", () => {
  it("parses and plans with the token header, namespace and region on every request", async () => {
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    const c = client(nomad.address, { namespace: "apps", region: "eu" });
    const job = await c.parse(jobFile("banana", D2));
    expect([job.ID, job.TaskGroups?.[0]?.Tasks?.[0]?.Config?.image]).toEqual([
      "banana",
      `ghcr.io/acme/banana:2@${D2}`,
    ]);
    const plan = await c.plan(job);
    expect(plan.Annotations?.DesiredTGUpdates?.app?.DestructiveUpdate).toBe(2);
    const requests = nomad.requests();
    expect(requests.map((r) => [r.method, r.path, r.authorized])).toEqual([
      ["POST", "/v1/jobs/parse?namespace=apps&region=eu", true],
      ["POST", "/v1/job/banana/plan?namespace=apps&region=eu", true],
    ]);
    // The documented payloads: JobHCL + Canonicalize, then Job + Diff.
    expect(Object.keys(requests[0]!.body as object)).toEqual(
      Object.keys(fixture("jobs-parse.request.json") as object),
    );
    expect(requests[1]!.body).toEqual({ Job: job, Diff: true });
  });

  it("reads a job, treats a missing job as null, and submits", async () => {
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    const c = client(nomad.address);
    expect((await c.job("banana"))?.ID).toBe("banana");
    expect(await c.job("nope")).toBeNull();
    expect(await c.latestDeployment("banana")).toBeNull();
    const out = await c.submit(await c.parse(jobFile("cherry", D2)));
    expect(out.JobModifyIndex).toBe(34);
    expect((await c.job("cherry"))?.JobModifyIndex).toBe(34);
  });

  it("names the missing capability on 403, with or without a token, and never shows the token", async () => {
    nomad = await startNomad({ token: TOKEN, deny: ["plan"] });
    const withToken = client(nomad.address);
    const job = await withToken.parse(jobFile("banana", D2));
    const denied = await failure(withToken.plan(job));
    expect(denied).toBeInstanceOf(NomadApiError);
    expect((denied as NomadApiError).kind).toBe("acl");
    expect((denied as Error).message).toMatchInlineSnapshot(
      `"ACL denied (403): the token in NOMAD_TOKEN lacks the capability namespace:submit-job in namespace "default" (POST /v1/job/banana/plan)"`,
    );
    const anonymous = new NomadClient({ address: nomad.address });
    const e2 = await failure(anonymous.job("banana"));
    expect(e2.message).toMatchInlineSnapshot(
      `"ACL denied (403): no NOMAD_TOKEN is set in the bot's environment and anonymous access lacks namespace:read-job in namespace "default" (GET /v1/job/banana)"`,
    );
    expect(JSON.stringify([denied, e2, (denied as Error).stack])).not.toContain(TOKEN);
  });

  it("reports an unreachable cluster and a timeout as 'cluster unreachable'", async () => {
    const address = await closedAddress();
    const e = await failure(client(address).job("banana"));
    expect([e.kind, e.message.replace(/:\d+/, ":PORT")]).toEqual([
      "unreachable",
      "cluster unreachable: http://127.0.0.1:PORT: ECONNREFUSED (GET /v1/job/banana)",
    ]);
    // A server that accepts and never answers.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const t = await failure(client(`http://127.0.0.1:${port}`, { timeoutMs: 150 }).job("banana"));
      expect([t.kind, t.message]).toEqual([
        "timeout",
        `cluster unreachable: http://127.0.0.1:${port} did not answer within 150 ms (GET /v1/job/banana)`,
      ]);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it("parses every answer: a body of the wrong shape is an invalid-response error naming the field", async () => {
    const answers: Record<string, unknown> = {
      "/v1/job/banana": { ID: 42, TaskGroups: [] },
      "/v1/job/banana/deployment": { ID: "d1", JobID: "banana", JobVersion: "3", Status: "running" },
      "/v1/deployment/allocations/d1": [{ ID: "a1", Name: "banana.app[0]", TaskGroup: "app" }],
      "/v1/job/cherry": { ID: "cherry", Extra: { kept: true }, TaskGroups: null },
    };
    const server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(answers[new URL(req.url!, "http://x").pathname] ?? null));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const c = client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const job = await failure(c.job("banana"));
      expect([job.kind, job.message]).toEqual([
        "invalid-response",
        "Nomad answered 200 with an unexpected body at ID: Invalid input: expected string, received number (GET /v1/job/banana)",
      ]);
      expect((await failure(c.latestDeployment("banana"))).message).toMatch(
        /unexpected body at JobVersion: /,
      );
      expect((await failure(c.deploymentAllocations("d1"))).message).toMatch(
        /unexpected body at 0\.ClientStatus: /,
      );
      // Fields the bot does not read are kept, so a job read from the cluster can be sent back whole.
      expect(await c.job("cherry")).toEqual({ ID: "cherry", Extra: { kept: true }, TaskGroups: null });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("takes the address from the config and the token from the environment only", () => {
    expect(nomadClientFor(undefined, {})).toBeNull();
    expect(nomadClientFor({}, { NOMAD_TOKEN: TOKEN })).toBeNull();
    const c = nomadClientFor(
      { address: "https://nomad.example:4646/", namespace: "apps" },
      { NOMAD_TOKEN: TOKEN },
    );
    expect([c?.address, c?.namespace, c?.timeoutMs]).toEqual(["https://nomad.example:4646", "apps", 5000]);
    expect(() => new NomadClient({ address: "https://u:p@nomad.example" })).toThrow(
      /must not contain credentials/,
    );
    const parsed = parseConfig({
      registry: "ghcr.io/acme",
      nomad: { address: "https://nomad.example:4646" },
    });
    expect(parsed.ok && parsed.config.nomad).toEqual({
      address: "https://nomad.example:4646",
      submit: false,
      environment: "production",
      timeout_ms: 5000,
      follow_minutes: 15,
    });
  });
});

describe("plan and drift reports", () => {
  it("plans each changed job file, and stops with a note when the cluster is unreachable", async () => {
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    const section = await planJobFiles(client(nomad.address), [
      { path: "nomad/banana.nomad.hcl", text: jobFile("banana", D2) },
      { path: "nomad/cherry.nomad.hcl", text: jobFile("cherry", D2) },
      { path: "nomad/bad.nomad.hcl", text: "job {" },
    ]);
    expect(
      section.jobs.map((j) => (j.ok ? [j.job, j.summary.diffType, j.summary.groups[0]] : [j.file, j.error])),
    ).toMatchInlineSnapshot(`
      [
        [
          "banana",
          "Edited",
          {
            "canary": 0,
            "create": 0,
            "destroy": 0,
            "destructive": 2,
            "ignore": 0,
            "inPlace": 0,
            "name": "app",
            "placementFailed": false,
          },
        ],
        [
          "cherry",
          "Added",
          {
            "canary": 0,
            "create": 2,
            "destroy": 0,
            "destructive": 0,
            "ignore": 0,
            "inPlace": 0,
            "name": "app",
            "placementFailed": false,
          },
        ],
        [
          "nomad/bad.nomad.hcl",
          "Nomad answered 400: 1 error occurred: * job file has no job block or image (POST /v1/jobs/parse)",
        ],
      ]
    `);
    const away = await planJobFiles(client(await closedAddress()), [
      { path: "a.nomad.hcl", text: jobFile("a", D2) },
    ]);
    expect(away.jobs).toEqual([]);
    expect(away.note).toMatch(
      /^cluster unreachable: .*ECONNREFUSED \(POST \/v1\/jobs\/parse\): plan preview skipped\.$/,
    );
  });

  it("checks drift per job once, and turns an ACL denial into a note", async () => {
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    const site = {
      service: "banana",
      file: "nomad/banana.nomad.hcl",
      job: "banana",
      group: "app",
      task: "server",
      repository: "ghcr.io/acme/banana",
    };
    const drift = await checkDrift(client(nomad.address), [
      { ...site, digest: D2 },
      { ...site, task: "sidecar", digest: D1 },
    ]);
    expect(drift.entries.map((e) => e.status)).toEqual(["drift", "same"]);
    expect(nomad.requests().map((r) => r.path)).toEqual(["/v1/job/banana?namespace=default"]);
    const denied = await checkDrift(new NomadClient({ address: nomad.address, token: "wrong" }), [
      { ...site, digest: D1 },
    ]);
    expect(denied).toEqual({
      entries: [],
      note: 'ACL denied (403): the token in NOMAD_TOKEN lacks the capability namespace:read-job in namespace "default" (GET /v1/job/banana): drift not checked.',
    });
  });
});

describe("reportRollouts", () => {
  const config = (nomadConfig: Record<string, unknown>) => {
    const parsed = parseConfig({
      services: [
        { name: "banana", image: "ghcr.io/acme/banana" },
        { name: "apple", image: "ghcr.io/acme/apple" },
      ],
      nomad: nomadConfig,
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.config;
  };
  /**
   * GitHub's side recorded in memory, answering `existing` from what was created (newest first, as GitHub
   * lists them): the App test and GitHubDeployments' test check the real requests with nock.
   */
  const recorder = () => {
    const calls: unknown[] = [];
    const made: Array<{ id: number; ref: string; environment: string; service: string; job: string }> = [];
    let next = 900;
    const port: DeploymentsPort = {
      create: async (input) => {
        calls.push(["create", input]);
        const id = ++next;
        const { service, job } = input.payload as { service: string; job: string };
        made.unshift({ id, ref: input.ref, environment: input.environment, service, job });
        return id;
      },
      status: async (id, input) => void calls.push(["status", id, input]),
      existing: async (input) => {
        calls.push(["existing", input]);
        return made
          .filter((d) => d.ref === input.ref && d.environment === input.environment)
          .map(({ id, service, job }) => ({ id, service, job }));
      },
      // Follow-up reads: reportRollouts itself never needs them.
      latest: async (id) => {
        calls.push(["latest", id]);
        return null;
      },
      unfinished: async (input) => {
        calls.push(["unfinished", input]);
        return [];
      },
    };
    return { calls, port };
  };
  const files = [{ path: "nomad/banana.nomad.hcl", text: jobFile("banana", D2) }];

  it("submits, then reports a successful deployment of the submitted version", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "successful" },
    });
    const gh = recorder();
    const out = await reportRollouts({
      config: config({ address: nomad.address, submit: true }),
      client: client(nomad.address),
      deployments: gh.port,
      sha: "abc",
      files,
    });
    expect(out.map((r) => [r.service, r.job, r.state, r.description])).toEqual([
      ["banana", "banana", "success", "v4: Deployment completed successfully (2/2 healthy)"],
    ]);
    expect(gh.calls).toMatchInlineSnapshot(`
      [
        [
          "existing",
          {
            "environment": "production",
            "ref": "abc",
          },
        ],
        [
          "create",
          {
            "description": "banana sha256:222222222222",
            "environment": "production",
            "payload": {
              "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
              "job": "banana",
              "namespace": "default",
              "service": "banana",
              "targets": [
                {
                  "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
                  "file": "nomad/banana.nomad.hcl",
                  "job": "banana",
                  "service": "banana",
                  "submit_index": 34,
                },
              ],
            },
            "ref": "abc",
          },
        ],
        [
          "status",
          901,
          {
            "description": "v4: Deployment completed successfully (2/2 healthy)",
            "state": "success",
          },
        ],
      ]
    `);
    expect(nomad.requests().map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual([
      "POST /v1/jobs/parse",
      "POST /v1/job/banana/plan",
      "POST /v1/jobs",
      "GET /v1/job/banana/deployment",
    ]);
    // Check-and-set: the submit names the version the plan saw, and keeps the file's HCL with the job.
    const register = nomad.requests().find((r) => r.path.startsWith("/v1/jobs?"))!.body as Record<
      string,
      unknown
    >;
    expect(register).toMatchObject({
      EnforceIndex: true,
      JobModifyIndex: 19, // the version the cluster runs (the job fixture)
      Submission: { Source: files[0]!.text, Format: "hcl2" },
    });
  });

  it("submits a service job Nomad has made no deployment for yet: queued, without reading the job back", async () => {
    // No rollout for banana: the submitted version has no deployment yet.
    nomad = await startNomad({ token: TOKEN, running: { banana: `ghcr.io/acme/banana:1@${D1}` } });
    const [r] = await reportRollouts({
      config: config({ address: nomad.address, submit: true }),
      client: client(nomad.address),
      deployments: recorder().port,
      sha: "abc",
      files,
    });
    expect([r!.state, r!.description]).toEqual(["queued", "no Nomad deployment for this job yet"]);
    // The parsed job it submitted says it is a service job: no GET /v1/job/banana to learn its type.
    expect(nomad.requests().map((q) => `${q.method} ${q.path.split("?")[0]}`)).toEqual([
      "POST /v1/jobs/parse",
      "POST /v1/job/banana/plan",
      "POST /v1/jobs",
      "GET /v1/job/banana/deployment",
    ]);
  });

  it("refuses to overwrite a job changed in Nomad between the plan and the submit: an error on the deployment", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "successful" },
      changedAfterPlan: ["banana"],
    });
    const gh = recorder();
    const [r] = await reportRollouts({
      config: config({ address: nomad.address, submit: true }),
      client: client(nomad.address),
      deployments: gh.port,
      sha: "abc",
      files,
    });
    expect(r!.state).toBe("error");
    expect(r!.description).toMatch(/^not submitted: the job changed in Nomad after the bot planned it/);
    expect(gh.calls.find((c) => (c as unknown[])[0] === "status")).toEqual([
      "status",
      901,
      { state: "error", description: r!.description },
    ]);
    // Refused by Nomad: the job the person changed is still the one the cluster runs.
    const job = await client(nomad.address).job("banana");
    expect(JSON.stringify(job)).toContain(D1);
  });

  it("[fault:nomad-changed-after-preview] a job changed between the PR's plan preview and the merge is refused, not overwritten", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "successful" },
    });
    // The deploy run's preview: its index rides to the merge in the PR body.
    const body = planIndexMarker(planIndexesOf(await planJobFiles(client(nomad.address), files)));
    expect(body).toBe("<!-- nomad-gitops:plan-index banana=19 -->");
    // Reviewers approve; meanwhile a person runs the job by hand.
    nomad.touch("banana");
    const before = nomad.requests().length;
    const gh = recorder();
    const [r] = await reportRollouts({
      config: config({ address: nomad.address, submit: true }),
      client: client(nomad.address),
      deployments: gh.port,
      sha: "abc",
      files,
      previewIndexes: readPlanIndexes(`Deploy\n\n${body}\n`),
    });
    expect(r!.state).toBe("error");
    // The status keeps GitHub's 140 characters; the check run on the merge gets the whole text.
    expect(r!.description).toBe(`${r!.submitError!.slice(0, 139)}…`);
    expect(r!.submitError).toMatch(
      /^not submitted: the job changed in Nomad after the PR's plan preview \(Nomad answered 500: Enforcing job modify index 19: job exists with conflicting job modify index: 34/,
    );
    // No plan at merge: the preview's index is the one named.
    const merge = nomad.requests().slice(before);
    expect(merge.map((q) => `${q.method} ${q.path.split("?")[0]}`)).toEqual([
      "POST /v1/jobs/parse",
      "POST /v1/jobs",
    ]);
    expect(merge[1]!.body).toMatchObject({ EnforceIndex: true, JobModifyIndex: 19 });
    expect(JSON.stringify(await client(nomad.address).job("banana"))).toContain(D1);
  });

  it("submits with the preview's index when the job did not change since", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "successful" },
    });
    const [r] = await reportRollouts({
      config: config({ address: nomad.address, submit: true }),
      client: client(nomad.address),
      deployments: recorder().port,
      sha: "abc",
      files,
      previewIndexes: readPlanIndexes("<!-- nomad-gitops:plan-index banana=19 other%20job=7 -->"),
    });
    expect(r!.state).toBe("success");
    expect(r!.submitError).toBeUndefined();
    const register = nomad.requests().find((q) => q.path.startsWith("/v1/jobs?"))!;
    expect(register.body).toMatchObject({ EnforceIndex: true, JobModifyIndex: 19 });
    expect(JSON.stringify(await client(nomad.address).job("banana"))).toContain(D2);
  });

  it("reads the plan-index marker defensively: none, malformed or edited markers give no index", () => {
    expect(readPlanIndexes(null).size).toBe(0);
    expect(readPlanIndexes("no marker").size).toBe(0);
    expect(readPlanIndexes("<!-- nomad-gitops:plan-index banana=x -->").size).toBe(0);
    expect([...readPlanIndexes("<!-- nomad-gitops:plan-index a%ZZ=1 b=2 -->")]).toEqual([["b", 2]]);
    const round = readPlanIndexes(
      planIndexMarker(
        new Map([
          ["web app", 0],
          ["api", 12],
        ]),
      ),
    );
    expect([...round]).toEqual([
      ["api", 12],
      ["web app", 0],
    ]);
  });

  it("reports a failed deployment with the failing allocation's event", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "failed" },
    });
    const gh = recorder();
    const [r] = await reportRollouts({
      config: config({ address: nomad.address, submit: true, environment: "staging" }),
      client: client(nomad.address),
      deployments: gh.port,
      sha: "abc",
      files,
    });
    expect(r!.state).toBe("failure");
    expect(r!.description).toContain("Driver Failure: Failed to pull");
    expect(r!.summary?.failures[0]?.events).toHaveLength(2);
    expect((gh.calls[0] as [string, { environment: string }])[1].environment).toBe("staging");
  });

  it("without submit: queued until the cluster's job names the pinned digest; error when unreachable", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { banana: "running" },
    });
    const gh = recorder();
    const [waiting] = await reportRollouts({
      config: config({ address: nomad.address }),
      client: client(nomad.address),
      deployments: gh.port,
      sha: "abc",
      files,
    });
    expect([waiting!.state, waiting!.description]).toEqual([
      "queued",
      "waiting for Nomad to pick up the merge: cluster still runs another digest",
    ]);
    const picked = [{ path: files[0]!.path, text: jobFile("banana", D1).replace(":2@", ":1@") }];
    const [running] = await reportRollouts({
      config: config({ address: nomad.address }),
      client: client(nomad.address),
      deployments: recorder().port,
      sha: "abc",
      files: picked,
    });
    expect([running!.state, running!.description]).toEqual([
      "in_progress",
      "v4: Deployment is running (0/2 healthy)",
    ]);
    const away = await closedAddress();
    const [down] = await reportRollouts({
      config: config({ address: away }),
      client: client(away),
      deployments: recorder().port,
      sha: "abc",
      files,
    });
    expect(down!.state).toBe("error");
    expect(down!.description).toMatch(/^cluster unreachable: .*ECONNREFUSED/);
  });

  const both = [
    { path: "nomad/apple.nomad.hcl", text: jobFile("apple", D2) },
    { path: "nomad/banana.nomad.hcl", text: jobFile("banana", D2) },
  ];
  const writes = () => nomad!.requests().filter((r) => r.method !== "GET");

  it("a redelivery finds its deployments: no create, no status, no submit", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { apple: `ghcr.io/acme/apple:1@${D1}`, banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { apple: "successful", banana: "successful" },
    });
    const gh = recorder();
    const input = {
      config: config({ address: nomad.address, submit: true }),
      client: client(nomad.address),
      deployments: gh.port,
      sha: "abc",
      files: both,
    };
    const first = await reportRollouts(input);
    expect(first.map((r) => [r.service, r.deployment, r.existing])).toEqual([
      ["apple", 901, undefined],
      ["banana", 902, undefined],
    ]);
    expect(writes()).toHaveLength(6); // parse, plan and submit per file
    const before = { calls: gh.calls.length, writes: writes().length };

    const again = await reportRollouts(input);
    expect(again.map((r) => [r.service, r.job, r.deployment, r.existing, r.state])).toEqual([
      ["apple", "apple", 901, true, "success"],
      ["banana", "banana", 902, true, "success"],
    ]);
    expect(gh.calls.slice(before.calls)).toEqual([["existing", { ref: "abc", environment: "production" }]]);
    expect(writes()).toHaveLength(before.writes);
  });

  it("after a partial first delivery: creates and submits only what is missing", async () => {
    nomad = await startNomad({
      token: TOKEN,
      running: { apple: `ghcr.io/acme/apple:1@${D1}`, banana: `ghcr.io/acme/banana:1@${D1}` },
      rollout: { apple: "successful", banana: "running" },
    });
    const gh = recorder();
    // The first delivery got as far as banana; apple's deployment for another environment does not count.
    const payload = (service: string) => ({ service, job: service, namespace: "default", digest: D2 });
    await gh.port.create({
      ref: "abc",
      environment: "production",
      description: "",
      payload: payload("banana"),
    });
    await gh.port.create({ ref: "abc", environment: "staging", description: "", payload: payload("apple") });
    gh.calls.length = 0;

    const out = await reportRollouts({
      config: config({ address: nomad.address, submit: true }),
      client: client(nomad.address),
      deployments: gh.port,
      sha: "abc",
      files: both,
    });
    expect(out.map((r) => [r.service, r.deployment, r.existing, r.state])).toEqual([
      ["apple", 903, undefined, "success"],
      ["banana", 901, true, "queued"],
    ]);
    expect(gh.calls.map((c) => (c as unknown[]).slice(0, 2))).toEqual([
      ["existing", { ref: "abc", environment: "production" }],
      ["create", expect.objectContaining({ payload: expect.objectContaining(payload("apple")) })],
      ["status", 903],
    ]);
    // Only apple's file is registered again; banana's follower (not this delivery) keeps reporting on it.
    expect(writes().map((r) => r.path.split("?")[0])).toEqual([
      "/v1/jobs/parse",
      "/v1/job/apple/plan",
      "/v1/jobs",
    ]);
    expect(
      (nomad.requests().find((r) => r.path.startsWith("/v1/jobs?"))?.body as { Job: { ID: string } }).Job.ID,
    ).toBe("apple");
  });
});

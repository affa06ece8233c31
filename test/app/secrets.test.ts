// The App under a registry that echoes credentials (htpasswd, real Basic auth, the echo from the proxy):
// the check run, comment and logs carry the registry's message without the credential. And the net
// every handler runs in (handlers/redacted.ts): its GitHub writes, log lines and thrown error are
// redacted, while file contents are committed exactly as given.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import type { Probot } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { nomadGitops } from "../../src/app.js";
import { redacted } from "../../src/handlers/redacted.js";
import { createRegistryClient } from "../../src/registry/index.js";
import { registerCredential } from "../../src/secrets/redact.js";
import { pushEvent, workflowRunEvent } from "../fixtures/github/payloads.js";
import { pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { BASIC, PASSWORD, USER, authHome, echoHeaders, leaks } from "../helpers/secrets.js";
import { R, capture, mockFindPr } from "./github-mocks.js";
import {
  type TestProbot,
  createTestProbot,
  expectNoSecrets,
  github,
  mockInstallationToken,
} from "./harness.js";
import {
  NEW_COMMIT,
  S1,
  S2,
  CHECK_ID,
  configText,
  image,
  jobFile,
  mockPlanningReads,
  normalize,
} from "./scenario.js";

const SERVICES = ["apple", "banana"];
let registry: TestRegistry;
let tmp: string;
let t: TestProbot;
const digests: Record<string, string> = {};

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-app-secrets-"));
  for (const s of SERVICES)
    for (const tag of [S1, S2])
      digests[`${s}:${tag}`] = await pushTestImage(registry.directHost, `acme/${s}`, tag, image(s, 1), {
        basic: `${USER}:${PASSWORD}`,
      });
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  t = createTestProbot();
});
afterEach(() => {
  registry.intercept(null);
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
  expectNoSecrets(t.logs());
  expect(
    t
      .logs()
      .split("\n")
      .filter((l) => leaks(l).length > 0),
  ).toEqual([]);
});

describe("the App", () => {
  it("[fault:header-echo] a registry echoing the Authorization header: the check run quotes it redacted, and nothing is written", async () => {
    const env = { ...(await authHome(path.join(tmp, "home"), registry.host)) };
    await t.probot.load(nomadGitops({ registry: createRegistryClient({ env, maxAttempts: 1 }) }));
    mockInstallationToken();
    const files: Record<string, string> = { "RELEASES.md": "# Releases\n" };
    for (const s of SERVICES)
      files[`nomad/${s}.nomad.hcl`] = jobFile(registry.host, s, `${S1}@${digests[`${s}:${S1}`]}`);
    mockPlanningReads({ config: configText(registry.host, SERVICES), files });
    mockFindPr("nomad-gitops/deploy", "main", {
      number: 12,
      title: "Deploy banana",
      body: "…",
      labels: ["deploy"],
      headSha: NEW_COMMIT,
    });
    const bodies: unknown[] = [];
    capture("patch", `${R}/check-runs/${CHECK_ID}`, bodies, { status: 200, body: { id: CHECK_ID } });
    registry.intercept({
      request: (req) =>
        req.path.startsWith("/v2/acme/banana/") && req.headers.authorization
          ? echoHeaders(req, "json")
          : undefined,
    });
    await t.probot.receive(workflowRunEvent({ headSha: S2, conclusion: "success", branch: "main" }));
    const check = normalize(bodies[0], registry.host) as { conclusion: string; output: { summary: string } };
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toMatch(
      /\| banana \| error \| .*HTTP 400: request rejected; you sent authorization: Basic \[REDACTED\] \(user ci-deployer, password \[REDACTED\]\)/,
    );
    expect(leaks(JSON.stringify(bodies))).toEqual([]);
  });
});

describe("the net around every handler", () => {
  async function load(handler: Parameters<Probot["on"]>[1]) {
    await t.probot.load((app: Probot) => void app.on("push", handler));
  }

  it("redacts GitHub writes, log lines and the thrown error, and leaves file contents alone", async () => {
    registerCredential(USER, PASSWORD);
    const tree = [
      {
        path: "notes.txt",
        mode: "100644" as const,
        type: "blob" as const,
        content: `kept as is: ${PASSWORD}\n`,
      },
    ];
    await load(
      redacted(async (context) => {
        context.log.info({ sent: `authorization: Basic ${BASIC}` }, `password ${PASSWORD}`);
        const owner = "acme";
        const repo = "platform";
        await context.octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: 1,
          body: `echo ${BASIC}`,
        });
        await context.octokit.rest.git.createTree({ owner, repo, tree });
        throw new Error(`failed with Basic ${BASIC} and ${PASSWORD}`);
      }),
    );
    mockInstallationToken();
    github().post(`${R}/issues/1/comments`, { body: "echo [REDACTED]" }).reply(201, { id: 1 });
    github().post(`${R}/git/trees`, { tree }).reply(201, { sha: "t" });
    const error = await t.probot
      .receive(pushEvent({ ref: "refs/heads/main", after: S2 }))
      .catch((e: unknown) => e as Error);
    expect(String(error)).toContain("failed with Basic [REDACTED] and [REDACTED]");
    expect(leaks(String(error) + String((error as Error).stack))).toEqual([]);
    expect(t.logs()).toContain("password [REDACTED]");
  });
});

// A signed webhook delivered over real HTTP to the App's Node middleware, and a forged one refused.
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { createNodeMiddleware } from "probot";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { nomadGitops } from "../../src/app.js";
import { pushEvent } from "../fixtures/github/payloads.js";
import { PUSH_KEY, mockCheckCreate, mockCheckList, mockConfig } from "./github-mocks.js";
import { expectNoSecrets, WEBHOOK_SECRET, createTestProbot, mockInstallationToken } from "./harness.js";

const SHA = "b".repeat(40);
const t = createTestProbot();
let server: http.Server;
let url: string;

beforeAll(async () => {
  const middleware = await createNodeMiddleware(nomadGitops(), { probot: t.probot });
  server = http.createServer((req, res) => {
    void middleware(req, res, () => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
  expectNoSecrets(t.logs());
});

function deliver(body: string, signature: string) {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      "x-hub-signature-256": signature,
    },
    body,
  });
}

const sign = (secret: string, body: string) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

it("accepts a correctly signed push and queues the check run", async () => {
  mockInstallationToken();
  mockConfig("registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml }\n", SHA);
  mockCheckList(SHA, []);
  mockCheckCreate({
    name: "nomad-gitops",
    head_sha: SHA,
    status: "queued",
    external_id: PUSH_KEY,
    output: {
      title: "Waiting for the build",
      summary: "Waiting for `images.yml` to finish for bbbbbbb on `main`.",
    },
  });
  const body = JSON.stringify(pushEvent({ ref: "refs/heads/main", after: SHA }).payload);
  const res = await deliver(body, sign(WEBHOOK_SECRET, body));
  expect(res.status).toBe(200);
});

it("refuses a webhook signed with another secret, without calling GitHub", async () => {
  const body = JSON.stringify(pushEvent({ ref: "refs/heads/main", after: SHA }).payload);
  const res = await deliver(body, sign("not-the-secret", body));
  expect([400, 401]).toContain(res.status);
  const unsigned = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "x" },
    body,
  });
  expect([400, 401]).toContain(unsigned.status);
});

// Local development: `npm start` with WEBHOOK_PROXY_URL receives GitHub's events through a smee.io
// channel. A loopback server stands in for the channel (server-sent events, smee's message format); the
// real `probot run` of the built App relays through the optional smee-client dependency.
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../helpers/registry.js";
import { testPrivateKey } from "./harness.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SECRET = "webhook-proxy-test-secret";
let channel: http.Server;
let channelUrl: string;
const listeners: http.ServerResponse[] = [];
let connected: () => void;
const firstListener = new Promise<void>((resolve) => (connected = resolve));

beforeAll(async () => {
  channel = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("event: ready\ndata: {}\n\n");
    listeners.push(res);
    connected();
  });
  await new Promise<void>((resolve) => channel.listen(0, "127.0.0.1", resolve));
  channelUrl = `http://127.0.0.1:${(channel.address() as AddressInfo).port}/channel-for-tests`;
});
afterAll(async () => {
  for (const res of listeners) res.end();
  channel.closeAllConnections();
  await new Promise((resolve) => channel.close(resolve));
});

/** One delivery as smee.io relays it: the headers GitHub sent, and the parsed body. */
function relay(event: string, body: object, signature: string): void {
  const message = {
    "x-github-event": event,
    "x-github-delivery": `d-${signature.slice(-6)}`,
    "x-hub-signature-256": signature,
    body,
  };
  for (const res of listeners) res.write(`data: ${JSON.stringify(message)}\n\n`);
}

it("relays webhooks from the WEBHOOK_PROXY_URL channel to the App, which checks their signature", async () => {
  const port = await freePort();
  const app = execa(process.execPath, ["node_modules/probot/bin/probot.js", "run", "./dist/app.js"], {
    cwd: root,
    env: {
      APP_ID: "1",
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_PROXY_URL: channelUrl,
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_LEVEL: "info",
    },
    extendEnv: false,
    all: true,
    reject: false,
  });
  try {
    await firstListener;
    // An event the App has no handler for: it is verified and acknowledged, and no GitHub call is made.
    const body = {
      action: "completed",
      check_suite: { id: 1 },
      repository: { id: 1, name: "r", owner: { login: "o" } },
    };
    const sign = (secret: string) =>
      `sha256=${createHmac("sha256", secret).update(JSON.stringify(body)).digest("hex")}`;
    let seen = "";
    app.all?.on("data", (chunk: Buffer) => (seen += String(chunk)));
    relay("check_suite", body, sign(SECRET));
    relay("check_suite", body, sign("someone-else"));
    const webhooks = `http://127.0.0.1:${port}/api/github/webhooks`;
    for (let i = 0; i < 100 && !(seen.includes(`${webhooks} - 200`) && /webhooks - 40[01]/.test(seen)); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(seen).toContain(`POST ${webhooks} - 200`);
    expect(seen).toMatch(new RegExp(`POST ${webhooks.replace(/[.]/g, "\\.")} - 40[01]`));
    expect(seen).not.toContain(SECRET);
  } finally {
    app.kill("SIGTERM");
    await app;
  }
});

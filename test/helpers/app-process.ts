// The App as GitHub runs it, in its own process (`node dist/server.js`, Probot's run with the App's
// Octokit), pointed at the GitHub API stand-in: signed webhooks arrive over HTTP, every API call crosses
// the process boundary. dist/ must be built (the test global setup and `npm run bench` do it).
import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type ResultPromise, execa } from "execa";
import { freePort } from "./registry.js";
import type { GitHubStandIn } from "./github-api/index.js";

const SERVER = fileURLToPath(new URL("../../dist/server.js", import.meta.url));

let key: string | undefined;
/** An RSA key for the App's JWT (the stand-in does not check the signature, Probot still signs). */
function privateKey(): string {
  key ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return key;
}

export interface AppProcess {
  /** Where GitHub would send webhooks. */
  webhookUrl: string;
  port: number;
  /** Everything the process logged (JSON lines). */
  logs(): string;
  /** SIGKILL, no goodbye. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAppProcess(input: {
  api: GitHubStandIn;
  /** Extra environment: NOMAD_GITOPS_INSECURE_REGISTRIES, REDIS_URL, ... */
  env?: Record<string, string>;
  port?: number;
}): Promise<AppProcess> {
  const port = input.port ?? (await freePort());
  const host = new URL(input.api.url).host;
  let output = "";
  const child: ResultPromise = execa("node", [SERVER], {
    env: {
      NODE_ENV: "production",
      APP_ID: String(input.api.appId),
      PRIVATE_KEY: privateKey(),
      WEBHOOK_SECRET: input.api.webhookSecret,
      GHE_HOST: host,
      GHE_PROTOCOL: "http",
      HOST: "127.0.0.1",
      PORT: String(port),
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      // The code cache stays in the tests' directory (test/global-setup.ts), not this user's ~/.cache.
      NOMAD_GITOPS_BOT_CACHE_DIR: process.env.NOMAD_GITOPS_BOT_CACHE_DIR,
      ...input.env,
    },
    extendEnv: false,
    reject: false,
    all: true,
    buffer: false,
  });
  child.all?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ping`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the App did not start on port ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const ended = child.then(() => undefined);
  return {
    webhookUrl: `http://127.0.0.1:${port}/api/github/webhooks`,
    port,
    logs: () => output,
    async kill() {
      child.kill("SIGKILL");
      await ended;
    },
    async stop() {
      child.kill("SIGTERM");
      await ended;
    },
  };
}

// The stand-in as its own process: `node --import tsx test/helpers/github-api/main.ts [--port N]
// [--webhook URL]... [--repos FILE]`. FILE is JSON `{ "owner/name": { "path": "text", ... } }`, each
// committed to `main`. Prints one JSON line `{"url": ...}` when listening; `GET /_standin/requests` then
// answers the request log. Stops on SIGTERM/SIGINT.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startGitHubApi } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    webhook: { type: "string", multiple: true },
    repos: { type: "string" },
    secret: { type: "string" },
  },
});
const api = await startGitHubApi({
  ...(values.port ? { port: Number(values.port) } : {}),
  webhookUrls: values.webhook ?? [],
  ...(values.secret ? { webhookSecret: values.secret } : {}),
});
if (values.repos) {
  const repos = JSON.parse(readFileSync(values.repos, "utf8")) as Record<string, Record<string, string>>;
  for (const [fullName, files] of Object.entries(repos)) {
    const [owner, name] = fullName.split("/");
    api.createRepo({ owner: owner!, name: name!, files });
  }
}
process.stdout.write(`${JSON.stringify({ url: api.url })}\n`);
const stop = () => void api.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

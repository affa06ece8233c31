// The App as a server: Probot's `run` (the same environment variables as `probot run`: APP_ID,
// PRIVATE_KEY(_PATH), WEBHOOK_SECRET, PORT, REDIS_URL, GHE_HOST, ...) with the App's Octokit, whose
// throttling follows GitHub's documented limits (src/github/octokit.ts), and per-repository
// serialisation shared through Redis when REDIS_URL is set (src/handlers/serial.ts).
import { run } from "probot";
import { nomadGitops } from "./app.js";
import { appOctokit } from "./github/octokit.js";
import { serializerFor } from "./handlers/serial.js";

await run(nomadGitops({ serial: await serializerFor(process.env) }), { Octokit: appOctokit() });

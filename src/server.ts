// The App as a server: Probot's `run` (the same environment variables as `probot run`: APP_ID,
// PRIVATE_KEY(_PATH), WEBHOOK_SECRET, PORT, REDIS_URL, GHE_HOST, ...) with the App's Octokit, whose
// throttling follows GitHub's documented limits (src/github/octokit.ts); webhooks answered once recorded
// in the pending-work ledger, per-repository serialisation and the missed-delivery recovery, shared
// through Redis when REDIS_URL is set (src/handlers/runtime.ts).
import { run } from "probot";
import { nomadGitops } from "./app.js";
import { appOctokit } from "./github/octokit.js";
import { runtimeFor } from "./handlers/runtime.js";
import { sweepStaleTempDirs } from "./temp-dirs.js";

await sweepStaleTempDirs();
await run(nomadGitops(await runtimeFor(process.env)), { Octokit: appOctokit() });

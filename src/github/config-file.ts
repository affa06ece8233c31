// The config file as the App reads it (Probot's config plugin, which also follows `_extends`), with
// the same size bound as the CLI and the Action: a file over MAX_CONFIG_BYTES is refused when it
// arrives, before the plugin's YAML parser sees it (a 14 MB config cost 510 MB when it was parsed).
import { CONFIG_FILE, configSizeProblem } from "../config/load.js";
import type { Octokit, RepoCoords } from "./types.js";

/** A config file larger than the bound: the config is invalid, the message says why. */
export class ConfigTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigTooLargeError";
  }
}

const bounded = new WeakSet<object>();

/** Reads the config through the plugin; throws ConfigTooLargeError for a file over the bound. */
export async function readConfigFile(
  octokit: Octokit,
  options: RepoCoords & { path: string; branch?: string },
): Promise<{ config: Record<string, unknown>; files: Array<{ config: unknown }> }> {
  if (!bounded.has(octokit)) {
    bounded.add(octokit);
    // The plugin reads each file (this repository's, then any `_extends` one) with a raw contents GET.
    octokit.hook.after("request", (response, request) => {
      // `url` is the route's template here ("/repos/{owner}/{repo}/contents/{path}"); `path` its value.
      const file = (request as { path?: unknown }).path;
      if (!String(request.url).includes("/contents/") || typeof file !== "string") return;
      if (!file.endsWith(CONFIG_FILE)) return;
      if (typeof response.data !== "string") return;
      const problem = configSizeProblem(Buffer.byteLength(response.data, "utf8"));
      if (problem) throw new ConfigTooLargeError(problem);
    });
  }
  return octokit.config.get(options);
}

// `.github/nomad-gitops.yml` through Probot's config plugin (so `_extends` and the org's `.github` repo
// work), read at the commit being acted on, validated by the one zod schema.
import type { Octokit, RepoCoords } from "../github/types.js";
import { CONFIG_PATH, aliasMessage, parseConfigObject } from "../config/load.js";
import { ConfigTooLargeError, readConfigFile } from "../github/config-file.js";
import { type Config, type ConfigError, formatConfigErrors } from "../config/schema.js";

export type RepoConfig =
  | { status: "ok"; config: Config }
  /** No config file in the repo nor the org: the App is installed but not set up here, so it stays quiet. */
  | { status: "absent" }
  | { status: "invalid"; errors: ConfigError[]; raw: unknown };

export async function loadConfig(octokit: Octokit, coords: RepoCoords, ref?: string): Promise<RepoConfig> {
  let result: { config: Record<string, unknown>; files: Array<{ config: unknown }> };
  try {
    result = await readConfigFile(octokit, { ...coords, path: CONFIG_PATH, ...(ref ? { branch: ref } : {}) });
  } catch (error) {
    if (error instanceof ConfigTooLargeError) {
      return { status: "invalid", errors: [{ path: "", message: error.message }], raw: null };
    }
    // The plugin throws for YAML it cannot parse and for bad `_extends` values: both are the user's to fix.
    const message =
      error instanceof Error
        ? error.message.replace(/^\[@probot\/octokit-plugin-config\] /, "")
        : String(error);
    if (error instanceof Error && /could not be parsed|_extends|Recursion/.test(error.message)) {
      // The plugin parses with yaml's alias bound; its error says only "invalid YAML", the cause why.
      const cause = error.cause instanceof ReferenceError ? `: ${aliasMessage(error.cause)}` : "";
      return { status: "invalid", errors: [{ path: "", message: `${message}${cause}` }], raw: null };
    }
    throw error;
  }
  if (!result.files.some((f) => f.config !== null)) return { status: "absent" };
  const parsed = parseConfigObject(result.config);
  return parsed.ok
    ? { status: "ok", config: parsed.config }
    : { status: "invalid", errors: parsed.errors, raw: result.config };
}

/** Deploy branches: the configured ones, else the repository's default branch. */
export function deployBranches(config: Pick<Config, "branches">, defaultBranch: string): string[] {
  return config.branches ?? [defaultBranch];
}

/** Failed check-run text for an invalid config: every key and its problem. */
export function configFailure(errors: ConfigError[]): { title: string; summary: string } {
  return {
    title: `Invalid ${CONFIG_PATH}`,
    summary: [
      `\`${CONFIG_PATH}\` is not valid, so nothing was planned or changed:`,
      "",
      "```",
      formatConfigErrors(errors),
      "```",
    ].join("\n"),
  };
}

// The one place that knows where the config lives and how it is read. From text (the CLI, tests):
// YAML syntax errors carry their line, schema errors their key path. The App gets the merged object
// from Probot's config plugin (org-level `_extends`) and validates it with parseConfigObject.
import { parseDocument } from "yaml";
import {
  type Config,
  type ConfigError,
  type ParseConfigResult,
  formatConfigErrors,
  parseConfig,
} from "./schema.js";

export const CONFIG_FILE = "nomad-gitops.yml";
export const CONFIG_PATH = `.github/${CONFIG_FILE}`;
/** The spelling people try first; the bot reads only CONFIG_PATH and says so when it finds this one. */
export const CONFIG_PATH_YAML = CONFIG_PATH.replace(/\.yml$/, ".yaml");

export type { ParseConfigResult };

/** Validates an already-parsed config object (the App: what Probot's config plugin merged). */
export const parseConfigObject = (raw: unknown): ParseConfigResult => parseConfig(raw);

/** Parses and validates the config file's text. */
export function parseConfigText(text: string): ParseConfigResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map(yamlError) };
  }
  const raw: unknown = doc.toJS();
  if (raw !== null && raw !== undefined && (typeof raw !== "object" || Array.isArray(raw))) {
    return { ok: false, errors: [{ path: "", message: "the config must be a mapping of keys" }] };
  }
  return parseConfig(raw);
}

function yamlError(error: {
  message: string;
  linePos?: [{ line: number; col: number }, ...unknown[]];
}): ConfigError {
  const pos = error.linePos?.[0];
  // yaml's message repeats the position and may carry a code excerpt after a blank line.
  const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return {
    path: "",
    message: pos
      ? `YAML syntax error at line ${pos.line}, column ${pos.col}: ${message}`
      : `YAML syntax error: ${message}`,
  };
}

export type ReadConfigResult = { ok: true; config: Config } | { ok: false; message: string };

/**
 * Reads and validates the config through `read` (a working tree, or `git show` at a commit), turning
 * every way it can fail into one message for the person who runs the command: missing (with a hint
 * when only the `.yaml` spelling exists), a directory, unreadable, or invalid with each key's problem.
 */
export async function readConfig(
  read: (relativePath: string) => Promise<string>,
  where: string,
): Promise<ReadConfigResult> {
  let text: string;
  try {
    text = await read(CONFIG_PATH);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EISDIR")
      return { ok: false, message: `${CONFIG_PATH} in ${where} is a directory, not a file` };
    if (code !== undefined && code !== "ENOENT")
      return { ok: false, message: `cannot read ${CONFIG_PATH} in ${where} (${code})` };
    const yaml = await read(CONFIG_PATH_YAML).then(
      () => true,
      () => false,
    );
    return {
      ok: false,
      message: yaml
        ? `no ${CONFIG_PATH} in ${where}, but there is ${CONFIG_PATH_YAML}: rename it to ${CONFIG_FILE} (only that name is read)`
        : `no ${CONFIG_PATH} in ${where} (at least \`registry: <image prefix>\` is needed)`,
    };
  }
  const parsed = parseConfigText(text);
  if (parsed.ok) return parsed;
  return {
    ok: false,
    message: `invalid ${CONFIG_PATH}:\n${formatConfigErrors(parsed.errors).replace(/^/gm, "  ")}`,
  };
}

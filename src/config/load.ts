// The one place that knows where the config lives and how it is read. From text (the CLI, tests):
// YAML syntax errors carry their line, schema errors their key path. The App gets the merged object
// from Probot's config plugin (org-level `_extends`) and validates it with parseConfigObject.
import { type Document, type Node, isCollection, isPair, isScalar, parseDocument } from "yaml";
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

/** Far above any real config (hundreds of services fit in a few dozen KiB), far below a stalled parse. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/**
 * How often one anchor may be expanded, weighted by the aliases inside it (the `yaml` package's
 * measure and default, also what the App's config plugin parses with): a "billion laughs" document of
 * nested aliases exceeds it long before it costs memory, a config reusing a list a few times does not.
 */
export const MAX_ALIAS_COUNT = 100;

/** Why a config file of this many bytes is refused; null when it is not too large. */
export function configSizeProblem(bytes: number): string | null {
  if (bytes <= MAX_CONFIG_BYTES) return null;
  const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;
  return `the file is ${kib(bytes)}; a config may be at most ${kib(MAX_CONFIG_BYTES)}`;
}

/** Parses and validates the config file's text. */
export function parseConfigText(text: string): ParseConfigResult {
  const tooLarge = configSizeProblem(Buffer.byteLength(text, "utf8"));
  if (tooLarge) return { ok: false, errors: [{ path: "", message: tooLarge }] };
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map(yamlError) };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return {
      ok: false,
      errors: [{ path: aliasCulprit(doc, doc.contents, []).join("."), message: aliasMessage(error) }],
    };
  }
  if (raw !== null && raw !== undefined && (typeof raw !== "object" || Array.isArray(raw))) {
    return { ok: false, errors: [{ path: "", message: "the config must be a mapping of keys" }] };
  }
  return parseConfig(raw);
}

/** What a YAML alias failure (yaml throws a ReferenceError) means for the person who wrote the file. */
export function aliasMessage(error: Error): string {
  return /excessive alias count/i.test(error.message)
    ? `YAML aliases expand too far (one anchor expanded more than ${MAX_ALIAS_COUNT} times, counting the aliases inside it, as in a "billion laughs" document): write the values out or use fewer nested aliases`
    : `YAML alias error: ${error.message}`;
}

/**
 * The deepest key whose value alone fails to expand: each value is expanded on its own (anchors outside
 * it still resolve, counted afresh) and the first that fails is searched further. [] when only the
 * document as a whole is too much.
 */
function aliasCulprit(doc: Document, node: unknown, path: string[]): string[] {
  if (!isCollection(node)) return path;
  for (const [i, item] of node.items.entries()) {
    // A list's own items are named only when they are mappings: an alias in a list names the list's key.
    if (!isPair(item) && !isCollection(item)) continue;
    const key = isPair(item) ? (isScalar(item.key) ? String(item.key.value) : String(item.key)) : String(i);
    const value = (isPair(item) ? item.value : item) as Node | null;
    try {
      value?.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
    } catch {
      return aliasCulprit(doc, value, [...path, key]);
    }
  }
  return path;
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

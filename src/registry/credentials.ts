// Registry credentials from the auth files docker, podman and skopeo already use. Credential helpers
// are not run (no shelling out to unknown binaries): a file that relies on one gets a clear error.
import { readFileSync } from "node:fs";
import path from "node:path";
import { registerCredential, registerSecret } from "../secrets/redact.js";

export interface Credential {
  username: string;
  password: string;
}

export interface CredentialLookup {
  /** The credential for a registry host ("ghcr.io", "127.0.0.1:5000"), or null for anonymous. */
  forHost(host: string): Credential | null;
  /** Why there is no credential for host (names the files read), for error messages. */
  explainMissing(host: string): string;
}

interface AuthFile {
  path: string;
  auths: Map<string, Credential>;
  helpers: string[];
}

/** Candidate files, first existing wins (as in containers/image): REGISTRY_AUTH_FILE, XDG, docker. */
export function authFileCandidates(env: NodeJS.ProcessEnv): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  const dockerConfig = env.DOCKER_CONFIG ?? (env.HOME ? path.join(env.HOME, ".docker") : null);
  if (dockerConfig) files.push(path.join(dockerConfig, "config.json"));
  return files;
}

/** "https://index.docker.io/v1/" and friends → "docker.io"; "https://ghcr.io/" → "ghcr.io". */
export function normalizeAuthKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, "")
    .split("/")[0]!
    .toLowerCase();
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

function parseAuthFile(file: string, text: string): AuthFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`auth file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const root = (parsed ?? {}) as {
    auths?: Record<string, { auth?: unknown }>;
    credsStore?: unknown;
    credHelpers?: Record<string, unknown>;
  };
  const auths = new Map<string, Credential>();
  for (const [key, entry] of Object.entries(root.auths ?? {})) {
    if (typeof entry?.auth !== "string" || entry.auth === "") continue;
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    // Never quote the value: it is a secret.
    if (colon <= 0) throw new Error(`auth file ${file}: auths["${key}"].auth is not base64 of user:password`);
    const credential = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    // From now on the password is removed from anything this process says (a server may echo it).
    registerCredential(credential.username, credential.password);
    registerSecret(entry.auth);
    auths.set(normalizeAuthKey(key), credential);
  }
  const helpers: string[] = [];
  if (typeof root.credsStore === "string") helpers.push(`credsStore "${root.credsStore}"`);
  for (const [host, helper] of Object.entries(root.credHelpers ?? {})) {
    helpers.push(`credHelpers["${host}"] = "${String(helper)}"`);
  }
  return { path: file, auths, helpers };
}

export function loadCredentials(env: NodeJS.ProcessEnv): CredentialLookup {
  let file: AuthFile | null = null;
  const tried = authFileCandidates(env);
  for (const candidate of tried) {
    let text: string;
    try {
      text = readFileSync(candidate, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Error(`cannot read auth file ${candidate}: ${(error as Error).message}`);
    }
    file = parseAuthFile(candidate, text);
    break;
  }
  return {
    forHost: (host) => file?.auths.get(normalizeAuthKey(host)) ?? null,
    explainMissing(host) {
      if (!file) return `no auth file found (looked for ${tried.join(", ") || "nothing: HOME is not set"})`;
      const helperNote =
        file.helpers.length > 0
          ? `; it configures ${file.helpers.join(", ")}, but credential helpers are not supported: ` +
            `put an "auth" entry for ${host} in the file`
          : "";
      return `no credential for ${host} in ${file.path}${helperNote}`;
    },
  };
}

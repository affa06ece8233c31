// The one place that removes secrets from text before it leaves the process (errors, logs, check runs,
// comments, PR bodies). Two layers: shapes that are secret wherever they appear (Authorization values,
// "auth" fields, GitHub tokens, NOMAD_TOKEN, URL passwords, private keys), and exact values the process
// learned at runtime (registry passwords from auth files, tokens from the environment), because a
// server may echo a credential back in a shape no pattern knows.

export const REDACTED = "[REDACTED]";

/** Values shorter than this are not registered: replacing them everywhere would shred ordinary text. */
const MIN_SECRET_LENGTH = 4;

const registered = new Set<string>();
let byLength: string[] = [];

/**
 * Remembers a secret value so that redact() removes it wherever it appears, together with its base64
 * and URL-encoded forms (how Basic auth and query strings carry it).
 */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  const forms = [value, Buffer.from(value).toString("base64"), encodeURIComponent(value)];
  let added = false;
  for (const form of forms) {
    if (form.length >= MIN_SECRET_LENGTH && !registered.has(form)) {
      registered.add(form);
      added = true;
    }
  }
  // Longest first, so a secret that contains another is removed whole.
  if (added) byLength = [...registered].sort((a, b) => b.length - a.length);
}

/** A registry credential: the password alone and `user:password` (base64 of it is the Basic value). */
export function registerCredential(username: string, password: string): void {
  registerSecret(password);
  registerSecret(`${username}:${password}`);
}

/** Environment variables whose values are secrets wherever they show up. */
export const SECRET_ENV = [
  "NOMAD_TOKEN",
  "GITHUB_TOKEN",
  "GH_TOKEN",
  "WEBHOOK_SECRET",
  "PRIVATE_KEY",
  "REGISTRY_PASSWORD",
] as const;

export function registerSecretsFromEnv(env: NodeJS.ProcessEnv): void {
  for (const key of SECRET_ENV) registerSecret(env[key]);
}

/** Forgets the registered values (tests). */
export function clearRegisteredSecrets(): void {
  registered.clear();
  byLength = [];
}

// Each rule keeps what names the secret (header, key, scheme) and replaces only the value.
type Replacement = string | ((match: string, ...groups: string[]) => string);
const RULES: Array<[RegExp, Replacement]> = [
  // PEM private keys (the App's key), whole block.
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  // Authorization / Proxy-Authorization headers in any spelling: `authorization: Basic xyz`,
  // `"Authorization":"Bearer xyz"`, `authorization=xyz`. Not a word that merely ends in it, as in the
  // image `reportportal/service-authorization:5.14.3` (a real job file's).
  [
    /(?<![\w./-])((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(basic|bearer|token|digest)\s+)?[^\s"',;}]+/gi,
    (_match, name: string, scheme: string | undefined) => `${name}${scheme ? `${scheme} ` : ""}${REDACTED}`,
  ],
  // Bare scheme + credential anywhere else ("sent Basic dXNlcjpwYXNz").
  [/\b(Basic|Bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
  // JSON fields of auth files and token answers.
  [
    /("(?:auth|password|identitytoken|registrytoken|token|access_token|refresh_token|secret)"\s*:\s*")(?:[^"\\]|\\.)*(")/gi,
    `$1${REDACTED}$2`,
  ],
  // Nomad's token as an environment assignment or header.
  [/\b(NOMAD_TOKEN\s*[=:]\s*["']?)[^\s"']+/g, `$1${REDACTED}`],
  [/\b(X-Nomad-Token["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi, `$1${REDACTED}`],
  // GitHub tokens: classic/app/OAuth prefixes and fine-grained PATs. Installation tokens are stateless
  // since 2026 (`ghs_<app id>_<JWT>`, ~520 characters): `_`, `-` and dots inside, no fixed length. A dot
  // only continues the token when more token characters follow, so a sentence's full stop stays.
  [/\bgh[pousr]_[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*/g, REDACTED],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, REDACTED],
  // Password in a URL's userinfo: https://user:secret@host.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+@/gi, `$1${REDACTED}@`],
];

/** The text without any secret this process knows of or recognises by shape. */
export function redact(text: string): string {
  let out = text;
  for (const secret of byLength) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of RULES) {
    out = out.replace(pattern, replacement as (substring: string, ...args: string[]) => string);
  }
  return out;
}

// A registry credential for tests, and the forms it can leak in: the password itself, base64 of
// user:password (a Basic header's value) and the auth file's JSON.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ProxyRequest } from "./registry.js";

export const USER = "ci-deployer";
export const PASSWORD = "pw-Echoed-1n-Error-Bodies";
export const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");

/** The forms of the credential found in text (empty when none leaked). */
export function leaks(text: string): string[] {
  return [PASSWORD, BASIC, `Basic ${BASIC.slice(0, 12)}`].filter((form) => text.includes(form));
}

/** Writes HOME/.docker/config.json with the credential for host; returns the env that points at it. */
export async function authHome(home: string, host: string): Promise<{ HOME: string }> {
  await mkdir(path.join(home, ".docker"), { recursive: true });
  await writeFile(
    path.join(home, ".docker/config.json"),
    JSON.stringify({ auths: { [host]: { auth: BASIC } } }),
  );
  return { HOME: home };
}

/**
 * A misbehaving registry or proxy: an error whose body echoes what the client sent — its Authorization
 * header in the registry's JSON error format, and every header as plain text — plus the decoded password.
 */
export function echoHeaders(req: ProxyRequest, kind: "json" | "text") {
  const auth = String(req.headers.authorization ?? "(none)");
  if (kind === "json") {
    const message = `request rejected; you sent authorization: ${auth} (user ${USER}, password ${PASSWORD})`;
    return {
      status: 400,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ errors: [{ code: "DENIED", message }] }),
    };
  }
  const lines = [
    `authorization: ${auth}`,
    ...Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`),
  ];
  return { status: 400, headers: { "content-type": "text/plain" }, body: `bad request\n${lines.join("\n")}` };
}

// GitHub App installation tokens in the stateless format GitHub rolls out since April 2026:
// `ghs_<APPID>_<JWT>`, about 520 characters, with two dots and base64url's `-` and `_` (not 40
// characters of [A-Za-z0-9]). Tests use these so nothing may assume the old length or alphabet.
import { randomBytes } from "node:crypto";

const b64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

/** A token of the new format: an RS256-sized signature, claims naming the installation. */
export function statelessToken(appId: number, installation = 4242): string {
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "stateless-s2s" }));
  const payload = b64url(
    JSON.stringify({
      iss: "github-internal",
      app: appId,
      ins: installation,
      nonce: randomBytes(12).toString("base64url"),
      exp: Math.floor(Date.now() / 1000) + 3600,
    }),
  );
  // 256 signature bytes, with every base64url character likely, `-` and `_` included.
  const signature = b64url(randomBytes(256));
  return `ghs_${appId}_${header}.${payload}.${signature}`;
}

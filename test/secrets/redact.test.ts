import { statelessToken } from "../helpers/tokens.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  REDACTED,
  clearRegisteredSecrets,
  redact,
  registerCredential,
  registerSecret,
  registerSecretsFromEnv,
} from "../../src/secrets/redact.js";

afterEach(() => clearRegisteredSecrets());

describe("redact", () => {
  it("removes Authorization header values in the spellings servers echo them", () => {
    const basic = Buffer.from("robot:s3cret-pass").toString("base64");
    const cases = [
      `authorization: Basic ${basic}`,
      `Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig`,
      `{"Authorization":"Basic ${basic}"}`,
      `proxy-authorization=Basic ${basic}`,
      `headers: { authorization: 'token abcdef123456' }`,
    ];
    for (const text of cases) {
      const out = redact(text);
      expect(out).toContain(REDACTED);
      expect(out).not.toContain(basic);
      expect(out).not.toContain("eyJhbGciOiJSUzI1NiJ9");
      expect(out).not.toContain("abcdef123456");
    }
    expect(redact(`authorization: Basic ${basic}`)).toBe(`authorization: Basic ${REDACTED}`);
    expect(redact("Authorization: Bearer abc.def.ghi")).toBe(`Authorization: Bearer ${REDACTED}`);
  });

  it("removes a bare Basic/Bearer credential outside a header", () => {
    expect(redact("retrying with Bearer abcdefgh12345678 after 401")).toBe(
      `retrying with Bearer ${REDACTED} after 401`,
    );
    // Ordinary prose with the word is left alone.
    expect(redact("Basic auth failed")).toBe("Basic auth failed");
  });

  it('removes "auth", "password" and token fields of auth files and token answers', () => {
    const text = `{"auths":{"ghcr.io":{"auth":"cm9ib3Q6czNjcmV0"}},"password":"hunter22","token":"tok\\"en","expires_in":60}`;
    const out = redact(text);
    expect(out).toBe(
      `{"auths":{"ghcr.io":{"auth":"${REDACTED}"}},"password":"${REDACTED}","token":"${REDACTED}","expires_in":60}`,
    );
  });

  it("removes GitHub tokens of every kind", () => {
    const tokens = [
      `ghp_${"a".repeat(36)}`,
      `ghs_${"B1".repeat(18)}`,
      `gho_${"c".repeat(36)}`,
      `github_pat_11ABCDEFG0123456789_${"x".repeat(40)}`,
    ];
    for (const token of tokens)
      expect(redact(`push failed with ${token}.`)).toBe(`push failed with ${REDACTED}.`);
    // A word that merely starts like one is not a token.
    expect(redact("ghp_short")).toBe("ghp_short");
  });

  it("[fault:stateless-installation-token] removes installation tokens of the 2026 stateless format (ghs_<app>_<JWT>, ~520 characters, dots, - and _) whole, wherever they appear", () => {
    const token = statelessToken(1717);
    expect(token.length).toBeGreaterThan(500);
    expect(token.split(".")).toHaveLength(3);
    const places = [
      [`push failed with ${token}.`, `push failed with ${REDACTED}.`],
      [
        `git clone https://x-access-token:${token}@github.com/acme/shop`,
        `https://x-access-token:${REDACTED}@github.com`,
      ],
      [`{"token":"${token}","expires_at":"2026-12-07T04:00:00Z"}`, `{"token":"${REDACTED}"`],
      [`authorization: bearer ${token}`, `authorization: bearer ${REDACTED}`],
      [`token=${token}&x=1`, `token=${REDACTED}&x=1`],
    ] as const;
    for (const [text, kept] of places) {
      const out = redact(text);
      expect(out).toContain(kept);
      // Not a piece of it left: no header, payload or signature part.
      for (const part of token.split(/[._]/).filter((p) => p.length > 8)) expect(out).not.toContain(part);
    }
    // The old 40-character form is still caught.
    expect(redact(`ghs_${"Ab9".repeat(12)}`)).toBe(REDACTED);
  });

  it("removes NOMAD_TOKEN values and the X-Nomad-Token header", () => {
    expect(redact("NOMAD_TOKEN=5f3c2a1b-aaaa-bbbb-cccc-1234567890ab nomad job run")).toBe(
      `NOMAD_TOKEN=${REDACTED} nomad job run`,
    );
    expect(redact('{"X-Nomad-Token":"5f3c2a1b-aaaa"}')).toBe(`{"X-Nomad-Token":"${REDACTED}"}`);
  });

  it("removes passwords in URLs and private keys", () => {
    expect(redact("fetch https://robot:pa55word@registry.example/v2/")).toBe(
      `fetch https://robot:${REDACTED}@registry.example/v2/`,
    );
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----";
    expect(redact(`key: ${pem} end`)).toBe(`key: ${REDACTED} end`);
  });

  it("removes registered values in any shape, with their base64 and URL-encoded forms", () => {
    registerCredential("robot", "p@ss word!");
    const echoed = [
      "the server said: unknown user robot with password p@ss word!",
      `X-Echo: ${Buffer.from("robot:p@ss word!").toString("base64")}`,
      `?password=${encodeURIComponent("p@ss word!")}`,
    ];
    for (const text of echoed) {
      const out = redact(text);
      expect(out).not.toContain("p@ss word!");
      expect(out).not.toContain(Buffer.from("robot:p@ss word!").toString("base64"));
      expect(out).not.toContain(encodeURIComponent("p@ss word!"));
      expect(out).toContain(REDACTED);
    }
    // The user name alone is not a secret.
    expect(redact("user robot")).toBe("user robot");
  });

  it("takes secrets from the environment and ignores values too short to be told from text", () => {
    registerSecretsFromEnv({ NOMAD_TOKEN: "nomad-secret-1", GITHUB_TOKEN: "gh-secret-2", HOME: "/root" });
    expect(redact("a nomad-secret-1 b gh-secret-2 c /root")).toBe(`a ${REDACTED} b ${REDACTED} c /root`);
    registerSecret("ab");
    expect(redact("about a tab")).toBe("about a tab");
  });

  it("removes a secret that contains another whole", () => {
    registerSecret("abcd");
    registerSecret("abcd-efgh-ijkl");
    expect(redact("x abcd-efgh-ijkl y abcd z")).toBe(`x ${REDACTED} y ${REDACTED} z`);
  });

  it("leaves text without secrets unchanged", () => {
    const text = "ghcr.io/acme/api:v1@sha256:" + "0".repeat(64) + ' answered HTTP 404: {"errors":[]}';
    expect(redact(text)).toBe(text);
  });

  it("leaves image references whose names end in 'authorization' alone, but not the header", () => {
    const images = "reportportal/service-authorization:5.14.3 and ghcr.io/acme/authorization:v2";
    expect(redact(images)).toBe(images);
    expect(redact("Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=")).toBe(
      `Proxy-Authorization: Basic ${REDACTED}`,
    );
    expect(redact("x authorization=abc123")).toBe(`x authorization=${REDACTED}`);
  });
});

// Scheme and host choice, checked on the URL the client would fetch (the network here is loopback
// only, so remote hosts are answered by an injected transport that records the request and says 404).
import { describe, expect, it } from "vitest";
import { createRegistryClient } from "../../src/registry/index.js";
import { insecureHostsFromEnv, parseRetryAfter, usesPlainHttp } from "../../src/registry/http.js";
import { resolveTarget } from "../../src/registry/client.js";

function recordingClient(env: NodeJS.ProcessEnv = {}) {
  const urls: string[] = [];
  const client = createRegistryClient({
    env,
    maxAttempts: 1,
    http: async (request) => {
      urls.push(request.url);
      return {
        status: 404,
        headers: new Headers(),
        body: new TextEncoder().encode(
          JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }),
        ),
      };
    },
  });
  return { client, urls };
}

describe("scheme and host", () => {
  it("uses plain HTTP only for loopback and listed hosts", () => {
    const listed = insecureHostsFromEnv({
      NOMAD_GITOPS_INSECURE_REGISTRIES: " registry.lan:5000, Build.Local ",
    });
    expect([...listed]).toEqual(["registry.lan:5000", "build.local"]);
    expect(usesPlainHttp("127.0.0.1:5000", new Set())).toBe(true);
    expect(usesPlainHttp("localhost:5000", new Set())).toBe(true);
    expect(usesPlainHttp("[::1]:5000", new Set())).toBe(true);
    expect(usesPlainHttp("registry.lan:5000", listed)).toBe(true);
    expect(usesPlainHttp("registry.lan:5001", listed)).toBe(false);
    expect(usesPlainHttp("ghcr.io", listed)).toBe(false);
    expect(usesPlainHttp("127.0.0.1.nip.io", new Set())).toBe(false);
  });

  it("sends Docker Hub names to registry-1.docker.io over HTTPS", async () => {
    const { client, urls } = recordingClient();
    await expect(client.digest("redis:7")).rejects.toThrow(
      'redis:7: tag "7" not found in registry-1.docker.io/library/redis',
    );
    expect(urls).toEqual([
      "https://registry-1.docker.io/v2/library/redis/manifests/7",
      "https://registry-1.docker.io/v2/library/redis/manifests/7",
    ]);
  });

  it("uses HTTP for a listed host and HTTPS otherwise", async () => {
    const listed = recordingClient({ NOMAD_GITOPS_INSECURE_REGISTRIES: "registry.lan:5000" });
    await listed.client.manifest("registry.lan:5000/acme/app:1").catch(() => undefined);
    await listed.client.manifest("ghcr.io/acme/app:1").catch(() => undefined);
    expect(listed.urls).toEqual([
      "http://registry.lan:5000/v2/acme/app/manifests/1",
      "https://ghcr.io/v2/acme/app/manifests/1",
    ]);
  });

  it("resolves references to host, repository and reference", () => {
    expect(resolveTarget("docker://ghcr.io/acme/api:1.2@sha256:" + "a".repeat(64))).toMatchObject({
      host: "ghcr.io",
      repository: "acme/api",
      reference: `sha256:${"a".repeat(64)}`,
    });
    expect(resolveTarget("index.docker.io/acme/api")).toMatchObject({
      host: "registry-1.docker.io",
      repository: "acme/api",
      reference: "latest",
    });
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

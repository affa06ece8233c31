import { describe, expect, it } from "vitest";
import {
  canonicalRepository,
  formatImageRef,
  parseImageRef,
  repositoryOf,
  sameRepository,
} from "../../src/image/reference.js";

const SHA = "sha256:" + "ab".repeat(32);

describe("parseImageRef", () => {
  it("splits domain, path, tag and digest", () => {
    expect(parseImageRef(`ghcr.io/acme/banana:1.2@${SHA}`)).toMatchInlineSnapshot(`
      {
        "digest": "sha256:abababababababababababababababababababababababababababababababab",
        "domain": "ghcr.io",
        "path": "acme/banana",
        "tag": "1.2",
        "transport": "",
      }
    `);
  });

  it.each([
    ["redis", { domain: null, path: "redis", tag: null }],
    ["redis:7", { domain: null, path: "redis", tag: "7" }],
    ["library/redis:7-alpine", { domain: null, path: "library/redis", tag: "7-alpine" }],
    ["localhost:5000/app", { domain: "localhost:5000", path: "app", tag: null }],
    ["localhost/app:v1", { domain: "localhost", path: "app", tag: "v1" }],
    ["127.0.0.1:5000/a/b:latest", { domain: "127.0.0.1:5000", path: "a/b", tag: "latest" }],
    ["[::1]:5000/app", { domain: "[::1]:5000", path: "app", tag: null }],
    [
      "Registry.Example.COM/a__b/c-d--e/f.g:T_1.x",
      { domain: "Registry.Example.COM", path: "a__b/c-d--e/f.g", tag: "T_1.x" },
    ],
    ["hashicorp/consul:1.20", { domain: null, path: "hashicorp/consul", tag: "1.20" }],
  ])("accepts %s", (text, want) => {
    const ref = parseImageRef(text);
    expect(ref).toMatchObject({ transport: "", digest: null, ...want });
    expect(formatImageRef(ref!)).toBe(text);
  });

  it("keeps podman's docker:// transport", () => {
    const ref = parseImageRef(`docker://quay.io/podman/hello:latest@${SHA}`)!;
    expect(ref.transport).toBe("docker://");
    expect(repositoryOf(ref)).toBe("quay.io/podman/hello");
    expect(formatImageRef(ref)).toBe(`docker://quay.io/podman/hello:latest@${SHA}`);
  });

  it("accepts a digest-only reference and other algorithms per the grammar", () => {
    expect(parseImageRef(`redis@${SHA}`)).toMatchObject({ path: "redis", tag: null, digest: SHA });
    expect(parseImageRef("redis@sha512:" + "0".repeat(128))?.digest).toBe("sha512:" + "0".repeat(128));
    expect(parseImageRef("redis@multihash+base58:" + "0123456789abcdef".repeat(2))).not.toBeNull();
  });

  it.each([
    "",
    "https://ghcr.io/acme/app:1",
    "http://example.com/x.tar.gz",
    "oci://x/y",
    "Redis:7",
    "Acme/app",
    "acme//app",
    "app:",
    "app:-bad",
    "app:" + "x".repeat(129),
    "app@sha256:abc",
    "app@sha256:" + "AB".repeat(32),
    "app@sha256:" + "ab".repeat(33),
    "my_-app",
    "-app",
    "app-",
    "ex ample/app",
    "host:port/app",
    "${var.image}",
    "[[ .image ]]",
    "docker://",
    "a/" + "b".repeat(260),
  ])("rejects %j", (text) => {
    expect(parseImageRef(text)).toBeNull();
  });
});

describe("repository matching", () => {
  it("normalises Docker Hub names", () => {
    expect(canonicalRepository("redis")).toBe("docker.io/library/redis");
    expect(canonicalRepository("library/redis")).toBe("docker.io/library/redis");
    expect(canonicalRepository("docker.io/redis")).toBe("docker.io/library/redis");
    expect(canonicalRepository("index.docker.io/x/y")).toBe("docker.io/x/y");
    expect(canonicalRepository("docker://GHCR.io/a/b:1")).toBe("ghcr.io/a/b");
    expect(canonicalRepository("not a ref")).toBe("not a ref");
  });

  it("compares canonical forms", () => {
    expect(sameRepository("redis", "docker.io/library/redis")).toBe(true);
    expect(sameRepository("index.docker.io/library/redis", "redis")).toBe(true);
    expect(sameRepository("ghcr.io/acme/app", "ghcr.io/acme/app2")).toBe(false);
    expect(sameRepository("localhost:5000/app", "localhost:5001/app")).toBe(false);
    expect(sameRepository("acme/app", "docker.io/acme/app")).toBe(true);
  });
});

import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseImageSource, parseImagesMap, parseLocalSource } from "../../src/image/source.js";

describe("image sources", () => {
  it("parses docker-archive: and oci: sources", () => {
    expect(parseLocalSource("docker-archive:/x/app.tar")).toEqual({
      transport: "docker-archive",
      path: "/x/app.tar",
    });
    expect(parseLocalSource("oci:out/layout:v1")).toEqual({
      transport: "oci",
      path: "out/layout",
      tag: "v1",
    });
    expect(parseLocalSource("oci:out/layout")).toEqual({ transport: "oci", path: "out/layout", tag: null });
    expect(parseLocalSource("docker://ghcr.io/x")).toBeNull();
    expect(parseLocalSource("oci:dir:")).toBeNull();
  });

  it("refuses oci:: (containers/image ends the directory at the first colon: no directory)", () => {
    // core/pipeline.ts used to accept it and fail later while comparing; both paths now refuse it.
    expect(parseLocalSource("oci::x")).toBeNull();
    expect(parseImageSource("oci::x")).toBeNull();
    expect(parseLocalSource("oci:")).toBeNull();
    expect(parseLocalSource("docker-archive:")).toBeNull();
  });

  it("tells archives from registry references and refuses the rest", () => {
    expect(parseImageSource("docker-archive:/tmp/banana.tar")).toEqual({
      transport: "docker-archive",
      path: "/tmp/banana.tar",
    });
    expect(parseImageSource("oci:/tmp/kiwi")).toEqual({ transport: "oci", path: "/tmp/kiwi", tag: null });
    expect(parseImageSource("docker://ghcr.io/acme/x:1")).toEqual({
      transport: "docker",
      ref: "ghcr.io/acme/x:1",
    });
    expect(parseImageSource("ghcr.io/acme/x")).toBeNull(); // no tag or digest: which build?
    expect(parseImageSource("oci:")).toBeNull();
    expect(parseImageSource("http://x/y")).toBeNull();
  });
});

describe("--images map", () => {
  it("makes local paths absolute against the file's directory and keeps references", () => {
    const parsed = parseImagesMap(
      JSON.stringify({
        a: "docker-archive:out/a.tar",
        b: "oci:layout:v1",
        c: "oci:/abs/layout",
        d: "ghcr.io/acme/d:1",
      }),
      "/repo/build",
    );
    expect(parsed).toEqual({
      ok: true,
      sources: {
        a: `docker-archive:${path.resolve("/repo/build", "out/a.tar")}`,
        b: `oci:${path.resolve("/repo/build", "layout")}:v1`,
        c: "oci:/abs/layout",
        d: "ghcr.io/acme/d:1",
      },
    });
  });

  it("names the entry and what it should be", () => {
    expect(parseImagesMap("[1]", "/")).toEqual({
      ok: false,
      error: 'must be a JSON object of {"service": "docker-archive:PATH" | "oci:DIR" | "image:tag"}',
    });
    expect(parseImagesMap('{"a": 3}', "/")).toEqual({ ok: false, error: '"a" must be a string, got 3' });
    expect(parseImagesMap('{"a": "oci::x"}', "/")).toEqual({
      ok: false,
      error: '"a": "oci::x" is not docker-archive:PATH, oci:DIR or an image reference with a tag or digest',
    });
    expect(parseImagesMap("{", "/")).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^not valid JSON/),
    });
  });
});

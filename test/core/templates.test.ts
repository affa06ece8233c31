import { describe, expect, it } from "vitest";
import { globToRegExp, matchesAny } from "../../src/core/glob.js";
import { commitFromTag, renderTag, sanitizeTagPart, shortDigest } from "../../src/core/templates.js";

const build = { sha: "3f2a9c1d0e4b5a6978877665544332211000ffee", branch: "release/2026-11" };

describe("tag templates", () => {
  it("renders every placeholder, sanitising branch names for tags", () => {
    expect(renderTag("{sha}", build)).toBe(build.sha);
    expect(renderTag("v-{short_sha}-{branch}", build)).toBe("v-3f2a9c1-release-2026-11");
    expect(sanitizeTagPart("-feature/ümlaut")).toBe("feature--mlaut");
  });

  it("reads back the commit a pinned tag records, or null", () => {
    expect(commitFromTag("{sha}", build.sha)).toBe(build.sha);
    expect(commitFromTag("{sha}", "3f2a9c1")).toBeNull(); // too short for {sha}
    expect(commitFromTag("{short_sha}", "3f2a9c1")).toBe("3f2a9c1");
    expect(commitFromTag("{branch}-{short_sha}", "main-3f2a9c1")).toBe("3f2a9c1");
    expect(commitFromTag("build-{sha}", `build-${build.sha}`)).toBe(build.sha);
    expect(commitFromTag("{branch}", "main")).toBeNull();
    expect(commitFromTag("{sha}", "latest")).toBeNull();
    expect(commitFromTag("{sha}", null)).toBeNull();
  });

  it("shortens digests for tables", () => {
    expect(shortDigest(`sha256:${"ab".repeat(32)}`)).toBe("abababababab");
    expect(shortDigest(null)).toBe("—");
  });
});

describe("globs", () => {
  it("matches like the config documents", () => {
    expect(matchesAny("a/b/c.nomad.hcl", ["**/*.nomad.hcl"])).toBe(true);
    expect(matchesAny("c.nomad.hcl", ["**/*.nomad.hcl"])).toBe(true);
    expect(matchesAny("c.nomad.hcl.bak", ["**/*.nomad.hcl"])).toBe(false);
    expect(matchesAny("services/banana/src/main.go", ["services/banana/**"])).toBe(true);
    expect(matchesAny("services/bananas/x", ["services/banana/**"])).toBe(false);
    expect(matchesAny("services/banana/x/y", ["services/banana"])).toBe(true);
    expect(matchesAny("nomad/a.nomad", ["nomad/*.{nomad,hcl}"])).toBe(true);
    expect(matchesAny("nomad/x/a.nomad", ["nomad/*.nomad"])).toBe(false);
    expect(globToRegExp("a.b?c").test("a.bxc")).toBe(true);
    expect(globToRegExp("a.b?c").test("aXbxc")).toBe(false);
  });
});

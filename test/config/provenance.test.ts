import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/schema.js";

const base = { registry: "ghcr.io/acme/platform", build: { workflow: "images.yml" } };

describe("provenance config", () => {
  it("is off when left out, so planning asks for nothing new", () => {
    const parsed = parseConfig(base);
    expect(parsed.ok && parsed.config.provenance).toBeUndefined();
  });

  it("defaults to requiring provenance from push or dispatch builds on GitHub-hosted runners", () => {
    const parsed = parseConfig({ ...base, provenance: {} });
    expect(parsed.ok && parsed.config.provenance).toEqual({
      require: true,
      triggers: ["push", "workflow_dispatch"],
      runner: "github-hosted",
      exempt: [],
      builders: [],
      not_reproducible: [],
    });
  });

  it("names the key when a setting cannot work", () => {
    const errors = (raw: unknown) => {
      const parsed = parseConfig(raw);
      return parsed.ok ? [] : parsed.errors;
    };
    expect(errors({ registry: "ghcr.io/acme/platform", provenance: {} })).toEqual([
      {
        path: "provenance.workflow",
        message: "set `provenance.workflow` or `build.workflow`: the workflow whose attestations are trusted",
      },
    ]);
    expect(errors({ ...base, provenance: { ref: "main" } })).toEqual([
      { path: "provenance.ref", message: 'must be a full ref such as "refs/heads/main"' },
    ]);
    expect(errors({ ...base, provenance: { trusted_root: "../roots.json" } })).toEqual([
      {
        path: "provenance.trusted_root",
        message: "must be a path inside the repository (no leading / or ..)",
      },
    ]);
    expect(errors({ ...base, provenance: { runner: "laptop" } })).toEqual([
      { path: "provenance.runner", message: 'must be one of "github-hosted", "self-hosted", "any"' },
    ]);
    expect(errors({ ...base, provenance: { signer: "build.yml" } })).toEqual([
      {
        path: "provenance.signer",
        message: 'must be a reusable workflow such as "acme/ci/.github/workflows/build.yml@refs/tags/v1"',
      },
    ]);
  });

  it("[fault:builders-config] reads builders and says what is wrong with one, by its key", () => {
    const errors = (provenance: unknown) => {
      const parsed = parseConfig({ ...base, provenance });
      return parsed.ok ? [] : parsed.errors;
    };
    const rebuild = { name: "rebuild", workflow: "rebuild.yml", tag: "{sha}-rebuild" };
    const parsed = parseConfig({
      ...base,
      provenance: {
        builders: [rebuild, { name: "nix", key: ".github/keys/nix.pem", tag: "{sha}-nix" }],
        agree: 1,
      },
    });
    expect(parsed.ok && parsed.config.provenance?.builders).toEqual([
      { ...rebuild, triggers: ["push", "workflow_dispatch", "workflow_run"], runner: "any" },
      {
        name: "nix",
        key: ".github/keys/nix.pem",
        tag: "{sha}-nix",
        triggers: ["push", "workflow_dispatch", "workflow_run"],
        runner: "any",
      },
    ]);
    expect(errors({ builders: [{ name: "x", tag: "{sha}-x" }] })).toEqual([
      {
        path: "provenance.builders.0.workflow",
        message: "set exactly one of `workflow` (keyless, GitHub Actions) or `key` (a PEM public key file)",
      },
    ]);
    expect(errors({ builders: [{ ...rebuild, tag: "latest-rebuild" }] })).toEqual([
      {
        path: "provenance.builders.0.tag",
        message: 'must name the commit with {sha} or {short_sha}, e.g. "{sha}-rebuild"',
      },
    ]);
    expect(errors({ builders: [rebuild, { ...rebuild, tag: "{sha}-again" }] })).toEqual([
      {
        path: "provenance.builders.1.name",
        message: 'duplicate builder name "rebuild" (also builders.0.name)',
      },
    ]);
    expect(errors({ builders: [rebuild], agree: 2 })).toEqual([
      { path: "provenance.agree", message: "2 builders cannot agree: 1 is configured" },
    ]);
    expect(errors({ builders: [{ ...rebuild, key: "/etc/key.pem" }] })).toEqual([
      {
        path: "provenance.builders.0.key",
        message: "must be a path inside the repository (no leading / or ..)",
      },
      {
        path: "provenance.builders.0.workflow",
        message: "set exactly one of `workflow` (keyless, GitHub Actions) or `key` (a PEM public key file)",
      },
    ]);
  });
});

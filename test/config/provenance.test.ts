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
});

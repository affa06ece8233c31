import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";

describe("cli main", () => {
  it("exits 2 with the usage on stderr when no command is given", async () => {
    const cap = captureIO();
    expect(await main([], cap.io)).toBe(2);
    expect(cap.stderr).toContain("usage: nomad-gitops-bot <command>");
    // Every command is listed with its summary.
    expect(cap.stderr).toMatch(/^ {2}digest +\S.*$/m);
    expect(cap.stderr).toMatch(/^ {2}apply +Push moved images, retag unchanged ones/m);
    expect(cap.stdout).toBe("");
  });

  it("exits 2 and names an unknown command", async () => {
    const cap = captureIO();
    expect(await main(["frobnicate"], cap.io)).toBe(2);
    expect(cap.stderr).toContain('unknown command "frobnicate"');
  });

  it("prints the package version", async () => {
    const cap = captureIO();
    expect(await main(["--version"], cap.io)).toBe(0);
    expect(cap.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

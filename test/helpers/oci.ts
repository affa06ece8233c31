// The deterministic image builder lives in src/sandbox (the demo uses it too).
export * from "../../src/sandbox/oci.js";
export type { ImageSpec as TestImageSpec } from "../../src/sandbox/oci.js";

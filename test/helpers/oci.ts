// The deterministic image builder lives in src/demo/sandbox (the demo uses it too).
export * from "../../src/demo/sandbox/oci.js";
export type { ImageSpec as TestImageSpec } from "../../src/demo/sandbox/oci.js";

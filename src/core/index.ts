// The core's public surface, for the GitHub App and the CLI.
export * from "./templates.js";
export * from "./glob.js";
export * from "./discovery.js";
export * from "./plan.js";
export * from "./edits.js";
export * from "./release-notes.js";
export * from "./render.js";
export * from "./pipeline.js";

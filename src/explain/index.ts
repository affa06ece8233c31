// "Why did this digest move?": config diff, changed layers by diff_id, and the files of those layers.
export * from "./types.js";
export * from "./diff.js";
export * from "./render.js";
export { TarError, readTar } from "../image/tar.js";
export {
  DEFAULT_MAX_BYTES,
  type ExplainOptions,
  type ExplainRegistry,
  type Explainer,
  createExplainer,
  explainImages,
} from "./inspect.js";

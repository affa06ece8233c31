// The registry module's public surface (see docs/architecture.md): direct HTTP for digests, manifests,
// retags and "same image?" checks; skopeo for pushes.
export {
  type BlobStream,
  type CountingRegistryClient,
  type Manifest,
  type RegistryClient,
  type RegistryOptions,
  type RetagOptions,
  type RetagResult,
  type SameImage,
  MEDIA_TYPES,
  RetagError,
  createRegistryClient,
  isValidTag,
} from "./client.js";
export { type MissingChild, MissingChildError, RegistryError } from "./errors.js";
export { type CopyResult, type PushOptions, type PushResult, copyImage, pushImage } from "./skopeo.js";

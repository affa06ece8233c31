// The CLI's ImageSourcePort: `--images` archives compared with the deployed image without uploading
// (the one "same image?" decision, as the registry layer's push makes it), and pushed through skopeo
// only when they moved.
import { sameImage } from "../image/manifest.js";
import { LOCAL_SOURCE_FORMS, type LocalSource, parseLocalSource } from "../image/source.js";
import { readLocalImage } from "../registry/archive.js";
import type { RegistryClient } from "../registry/client.js";
import { RegistryError } from "../registry/errors.js";
import { pushImage } from "../registry/skopeo.js";
import type { ImageSourcePort } from "../core/ports.js";

export function localImageSource(
  client: RegistryClient,
  options: { cwd: string; env: NodeJS.ProcessEnv },
): ImageSourcePort {
  const parse = (source: string): LocalSource => {
    const parsed = parseLocalSource(source);
    if (!parsed) throw new RegistryError(source, `use ${LOCAL_SOURCE_FORMS}`);
    return parsed;
  };
  return {
    async sameImage(source, ref) {
      const local = await readLocalImage(parse(source), options.cwd);
      const { same, reason } = sameImage(local, await client.identity(ref));
      return { same, reason };
    },
    async localDigest(source) {
      return (await readLocalImage(parse(source), options.cwd)).digest;
    },
    async push(source, ref) {
      parse(source);
      const out = await pushImage(source, ref, { client, cwd: options.cwd, env: options.env });
      return { digest: out.digest, pushed: out.pushed };
    },
  };
}

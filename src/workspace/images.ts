// The CLI's ImageSourcePort: `--images` archives compared with the deployed image without uploading
// (config digests, as the registry layer's push does), and pushed through skopeo only when they moved.
import { type ImageSource, parseImageSource, readLocalImage } from "../registry/archive.js";
import {
  type RegistryClient,
  compareConfigs,
  isIndex,
  platformKey,
  resolveTarget,
} from "../registry/client.js";
import { RegistryError } from "../registry/errors.js";
import { pushImage } from "../registry/skopeo.js";
import type { ImageSourcePort } from "../core/pipeline.js";

export function localImageSource(
  client: RegistryClient,
  options: { cwd: string; env: NodeJS.ProcessEnv },
): ImageSourcePort {
  const parse = (source: string): ImageSource => {
    const parsed = parseImageSource(source);
    if (!parsed) throw new RegistryError(source, "use docker-archive:PATH or oci:DIR[:tag]");
    return parsed;
  };
  return {
    async sameImage(source, ref) {
      const local = await readLocalImage(parse(source), options.cwd);
      const deployed = await client.manifest(ref);
      if (local.manifestDigest !== null && local.manifestDigest === deployed.digest) {
        return { same: true, reason: `same manifest ${deployed.digest}` };
      }
      const { same, reason } = compareConfigs(local.configs, await configsOf(client, ref, deployed));
      return { same, reason };
    },
    async push(source, ref) {
      parse(source);
      const out = await pushImage(source, ref, { client, cwd: options.cwd, env: options.env });
      return { digest: out.digest, pushed: out.pushed };
    },
  };
}

/** Config digest per platform of a deployed manifest or index ("" for a single-platform image). */
async function configsOf(
  client: RegistryClient,
  ref: string,
  top: { digest: string; mediaType: string; body: Uint8Array },
): Promise<Map<string, string>> {
  type Body = {
    config?: { digest?: string };
    manifests?: Array<{
      digest?: string;
      platform?: { os?: string; architecture?: string; variant?: string };
    }>;
  };
  const parse = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Body;
  const configs = new Map<string, string>();
  const body = parse(top.body);
  if (!isIndex(top)) {
    if (body.config?.digest) configs.set("", body.config.digest);
    return configs;
  }
  const target = resolveTarget(ref);
  const repository = `${target.ref.domain ? `${target.ref.domain}/` : ""}${target.ref.path}`;
  for (const child of body.manifests ?? []) {
    const key = platformKey(child.platform);
    if (!child.digest || key === "unknown/unknown") continue; // attestation manifests
    const sub = await client.manifest(`${repository}@${child.digest}`);
    const config = parse(sub.body).config?.digest;
    if (!isIndex(sub) && config) configs.set(key, config);
  }
  return configs;
}

import { readFileSync } from "node:fs";
import { z } from "zod";

// The package's own manifest, read like any other JSON: through a schema, never cast.
const Manifest = z.object({ version: z.string().min(1) });
const pkg = Manifest.parse(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")));
export const version: string = pkg.version;

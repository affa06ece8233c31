// `npm run schema`: regenerates schema/nomad-gitops.schema.json from the zod config schema.
import { writeFileSync } from "node:fs";
import { configJsonSchemaText } from "../src/config/json-schema.js";

const target = new URL("../schema/nomad-gitops.schema.json", import.meta.url);
writeFileSync(target, configJsonSchemaText());
process.stderr.write(`wrote ${target.pathname}\n`);

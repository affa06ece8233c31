import { z } from "zod";
import { configSchema } from "./schema.js";

/** The committed schema/nomad-gitops.schema.json, byte for byte (the drift test compares against it). */
export function configJsonSchemaText(): string {
  // "input": what a user may write (defaults make keys optional), which is what editors validate.
  const schema = z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12" });
  const document = {
    ...schema,
    $id: "https://raw.githubusercontent.com/nomad-gitops/nomad-gitops-bot/main/schema/nomad-gitops.schema.json",
    title: "nomad-gitops-bot configuration (.github/nomad-gitops.yml)",
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

// Preloaded with `node --import` by the start-up tests: records every module the process loads, ES
// modules through a resolve hook and CommonJS ones from require's cache at exit, one URL or path a
// line, into the file named by LOADED_MODULES_FILE.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const file = process.env.LOADED_MODULES_FILE;
if (file) {
  const hook = `
    import { appendFileSync } from "node:fs";
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      appendFileSync(${JSON.stringify(file)}, resolved.url + "\\n");
      return resolved;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  const require = createRequire(import.meta.url);
  process.on("exit", () => {
    const cached = Object.keys(require.cache);
    if (cached.length > 0) appendFileSync(file, `${cached.join("\n")}\n`);
  });
}

// Preloaded with `node --import` by the start-up tests: records every module the process loads, ES
// modules through a resolve hook and CommonJS ones from require's cache at exit, one URL or path a
// line, into the file named by LOADED_MODULES_FILE. Each worker thread started is recorded too, as
// `worker:` and the name of the file it loads (`worker:hcl2-parser`), since what a thread loads is not
// seen from here.
import { appendFileSync } from "node:fs";
import { createRequire, register, syncBuiltinESMExports } from "node:module";
import workerThreads from "node:worker_threads";

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
  const { Worker } = workerThreads;
  workerThreads.Worker = class extends Worker {
    constructor(source, options) {
      super(source, options);
      const load = options?.workerData?.parser ?? options?.workerData;
      appendFileSync(file, `worker:${typeof load?.name === "string" ? load.name : "unnamed"}\n`);
    }
  };
  // The application's `import { Worker }` binds to the patched class from here on.
  syncBuiltinESMExports();
  const require = createRequire(import.meta.url);
  process.on("exit", () => {
    const cached = Object.keys(require.cache);
    if (cached.length > 0) appendFileSync(file, `${cached.join("\n")}\n`);
  });
}

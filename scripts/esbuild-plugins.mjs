// esbuild plugins both bundles use (scripts/build-cli.mjs, scripts/build-action.mjs).
import path from "node:path";

// zod re-exports its 60-odd message locales as `z.locales`, so a bundle carries all of them (0.5 MB of
// the 0.75 MB zod chunk, parsed by every command that validates). Only English is used: zod sets it
// itself, from its own module, and nothing here reads z.locales.
export const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: path.dirname(args.path),
      loader: "js",
    }));
  },
};

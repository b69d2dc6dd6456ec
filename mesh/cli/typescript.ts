// Lets the compiled CLI load a user's TypeScript (ES module or CommonJS): registers tsx the first time a .ts file is loaded.
// Not for the CLI's own code: in a checkout, bin/mesh.js registered tsx before loading these sources.
const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

/** Whether tsx is registered in this process: always when this module is itself TypeScript (a checkout). */
let registered = import.meta.url.endsWith('.ts');

/** Registers tsx before `path` is imported, when it is a TypeScript file and tsx is not registered yet. */
export async function prepareToLoad(path: string): Promise<void> {
  if (registered || !TYPESCRIPT_FILE.test(path)) return;
  registered = true;
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  cjs.register();
}

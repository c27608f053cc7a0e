// Bundle src/extension.ts into dist/extension.js (CommonJS, Node, `vscode` external).
//
// vscode-languageclient kills a server that ignores `exit` by running
// `terminateProcess.sh` from *its own* directory (`__dirname`); once bundled that is
// dist/, so the script is copied beside the bundle, or a hung server would be orphaned.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Build into `outdir` (default dist/). Exported so a test can build into a temp dir. */
export async function buildExtension({ outdir = join(root, 'dist'), minify = false } = {}) {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [join(root, 'src', 'extension.ts')],
    outfile: join(outdir, 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode'],
    sourcemap: true,
    minify,
    logLevel: 'warning',
  });
  const require = createRequire(join(root, 'package.json'));
  const clientNode = dirname(require.resolve('vscode-languageclient/node'));
  // require.resolve gives .../node.js at the package root; the script lives in lib/node.
  const script = join(clientNode, 'lib', 'node', 'terminateProcess.sh');
  const target = join(outdir, 'terminateProcess.sh');
  copyFileSync(script, target);
  chmodSync(target, 0o755);
  return { outfile: join(outdir, 'extension.js'), terminateScript: target };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const minify = argv.includes('--minify');
  const at = argv.indexOf('--outdir');
  const outdir = at >= 0 && argv[at + 1] ? resolve(argv[at + 1]) : undefined;
  const { outfile } = await buildExtension({ minify, ...(outdir ? { outdir } : {}) });
  console.log(`built ${outfile}`);
}

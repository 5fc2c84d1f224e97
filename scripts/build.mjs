// Build: type-check and compile src/, test/ and bench/ to dist/ (tsc, incremental).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const t0 = Date.now();
const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build failed: fix the TypeScript errors above');
  process.exit(r.status ?? 1);
}
// data files the code loads at run time (generated schemas, .proto files) go beside the compiled code
const copyData = (dir) => {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) copyData(p);
    else if (e.endsWith('.json') || e.endsWith('.proto')) {
      const to = join(root, 'dist', p.slice(root.length + 1));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(p, to);
    }
  }
};
copyData(join(root, 'src'));
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist/.build-stamp'), new Date().toISOString());
console.error(`built in ${Date.now() - t0} ms`);

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
// data files the code loads at run time (generated schemas) go beside the compiled code
const copyJson = (dir) => {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) copyJson(p);
    else if (e.endsWith('.json')) {
      const to = join(root, 'dist', p.slice(root.length + 1));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(p, to);
    }
  }
};
copyJson(join(root, 'src'));
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist/.build-stamp'), new Date().toISOString());
console.error(`built in ${Date.now() - t0} ms`);

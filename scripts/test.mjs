// Runs every test: unit tests next to the code (dist/src/**/*.test.js) and the
// end-to-end tests (dist/test/e2e/*.test.js), files in parallel.
// `node scripts/test.mjs [filter]` runs only files whose path contains filter.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.js')) files.push(p);
  }
};
walk(join(root, 'dist/src'));
walk(join(root, 'dist/test'));
const filter = process.argv[2];
const chosen = files.filter((f) => !filter || relative(root, f).includes(filter)).sort();
if (!chosen.length) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.K8TS_TEST_CONCURRENCY ?? '3';
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...chosen], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);

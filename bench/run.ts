// `npm run bench`: runs every benchmark and writes bench/report/report.{json,md}.
// Benchmarks compare against a baseline measured in the same run; they are
// not tests and assert nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { benchDatastore } from './datastore.js';
import { benchApiserver } from './apiserver.js';
import { benchWorkloads } from './workloads.js';
import { benchScheduler } from './scheduler.js';
import { benchScale } from './scale.js';
import { benchPodStartup } from './podStartup.js';
import { benchDns } from './dns.js';
import { benchProxy } from './proxy.js';
import { benchIngress } from './ingress.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const only = process.argv[2];

const suites: Record<string, () => Promise<Record<string, number>>> = {
  datastore: benchDatastore,
  apiserver: benchApiserver,
  workloads: benchWorkloads,
  scheduler: benchScheduler,
  pods: benchPodStartup,
  dns: benchDns,
  proxy: benchProxy,
  ingress: benchIngress,
};

const results: Record<string, Record<string, number>> = {};
// opt-in suites: they take minutes
const optIn: Record<string, () => Promise<Record<string, number>>> = { scale: benchScale };
if (only && optIn[only]) suites[only] = optIn[only];
for (const [name, fn] of Object.entries(suites)) {
  if (only && name !== only) continue;
  process.stderr.write(`bench: ${name}…\n`);
  const t0 = Date.now();
  results[name] = await fn();
  process.stderr.write(`bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), node: process.version };
const dir = join(root, 'bench/report');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'report.json'), JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2));
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
let md = `# k8ts benchmarks\n\n${new Date().toISOString()} — ${machine.cpus} × ${machine.cpu}, ${machine.memGb} GiB, Node ${machine.node}\n\n`;
for (const [suite, r] of Object.entries(results)) {
  md += `## ${suite}\n\n| metric | value |\n| --- | --- |\n`;
  for (const [k, v] of Object.entries(r)) md += `| ${k} | ${fmt(v)} |\n`;
  md += '\n';
}
writeFileSync(join(dir, 'report.md'), md);
process.stdout.write(md);
// benchmarks may leave sockets or timers behind; the report is written
process.exit(0);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CONTAINERD_BIN, cgroupVersion, containerdConfig, containerdProblems, startContainerd, writeRegistryHosts } from './containerd.js';

const input = (dir: string) => ({
  dir,
  socket: join(dir, 'containerd.sock'),
  sandboxImage: 'k8ts.local/pause:1',
  snapshotter: 'overlayfs',
  cniConfDir: join(dir, 'net.d'),
  runcPath: '/usr/sbin/runc',
  registryConfigPath: join(dir, 'certs.d'),
});

test('config: CRI settings this machine needs, and only paths under the data dir', () => {
  const dir = '/data/k8ts/containerd';
  const cfg = containerdConfig(input(dir));
  assert.match(cfg, /^version = 2$/m);
  assert.match(cfg, /^\s*restrict_oom_score_adj = true$/m);
  assert.match(cfg, /^\s*SystemdCgroup = false$/m);
  assert.match(cfg, /^\s*sandbox_image = "k8ts\.local\/pause:1"$/m);
  assert.match(cfg, /^\s*stream_server_address = "127\.0\.0\.1"$/m);
  assert.match(cfg, /^\s*bin_dir = "\/usr\/lib\/cni"$/m);
  assert.match(cfg, /^\s*snapshotter = "overlayfs"$/m);
  for (const p of ['aufs', 'btrfs', 'zfs', 'devmapper', 'otlp']) assert.ok(cfg.includes(`.${p}"`), p);
  // every absolute path is ours, except the binaries we run
  const paths = [...cfg.matchAll(/"(\/[^"]*)"/g)].map((m) => m[1]!);
  assert.ok(paths.length > 5);
  for (const p of paths) assert.ok(p.startsWith(dir) || ['/usr/lib/cni', '/usr/sbin/runc'].includes(p), p);
});

test('config parses with the real containerd', { skip: !existsSync(CONTAINERD_BIN) && 'containerd not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-ctdcfg-'));
  try {
    writeFileSync(join(dir, 'config.toml'), containerdConfig(input(dir)));
    const dump = execFileSync(CONTAINERD_BIN, ['--config', join(dir, 'config.toml'), 'config', 'dump'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(dump, /restrict_oom_score_adj = true/);
    assert.match(dump, /netns_mounts_under_state_dir = true/);
    assert.ok(dump.includes(`address = "${join(dir, 'containerd.sock')}"`));
    assert.ok(dump.includes(`config_path = "${join(dir, 'certs.d')}"`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry hosts: plain HTTP for each host', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-hosts-'));
  try {
    writeRegistryHosts(join(dir, 'certs.d'), ['localhost:5000', '127.0.0.1:5000']);
    assert.deepEqual(readdirSync(join(dir, 'certs.d')).sort(), ['127.0.0.1:5000', 'localhost:5000']);
    const h = readFileSync(join(dir, 'certs.d', 'localhost:5000', 'hosts.toml'), 'utf8');
    assert.match(h, /^server = "http:\/\/localhost:5000"$/m);
    assert.match(h, /^\[host\."http:\/\/localhost:5000"\]$/m);
    // a node away from the server pulls "127.0.0.1:5000/…" from the server's address
    writeRegistryHosts(join(dir, 'certs.d'), ['127.0.0.1:5000'], { '127.0.0.1:5000': '192.168.7.1:5000' });
    const m = readFileSync(join(dir, 'certs.d', '127.0.0.1:5000', 'hosts.toml'), 'utf8');
    assert.match(m, /^server = "http:\/\/127\.0\.0\.1:5000"$/m);
    assert.match(m, /^\[host\."http:\/\/192\.168\.7\.1:5000"\]$/m);
    writeRegistryHosts(join(dir, 'certs.d'), []); // replaced, not merged
    assert.deepEqual(readdirSync(join(dir, 'certs.d')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('problems are explained; startContainerd refuses with them', async () => {
  assert.ok([1, 2].includes(cgroupVersion()));
  const problems = containerdProblems('/nonexistent/containerd');
  assert.ok(problems.some((p) => p.includes('/nonexistent/containerd not found') && p.includes('apt-get install containerd runc containernetworking-plugins')));
  const log = pino({ level: 'silent' });
  await assert.rejects(startContainerd({ dataDir: '/nonexistent-data', log, binary: '/nonexistent/containerd' }), /cannot run containerd: .*not found/);
});

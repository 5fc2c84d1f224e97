import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cniConflist, gatewayOf, missingCniPlugins, writeCniConfig } from './cni.js';

test('gatewayOf: first host of the CIDR', () => {
  assert.equal(gatewayOf('10.42.3.0/24'), '10.42.3.1');
  assert.equal(gatewayOf('10.42.3.77/24'), '10.42.3.1');
  assert.equal(gatewayOf('10.42.0.0/16'), '10.42.0.1');
  assert.throws(() => gatewayOf('10.42.0.0'), /invalid/);
  assert.throws(() => gatewayOf('10.42.0.0/31'), /prefix/);
  assert.throws(() => gatewayOf('10.300.0.0/24'), /invalid/);
});

test('conflist: bridge gateway without masquerade (the proxy does it), hairpin, host-local on the podCIDR, portmap', () => {
  const c = cniConflist({ confDir: '/x', ipamDataDir: '/data/ipam', podCIDR: '10.42.7.0/24', bridge: 'k8tsA' }) as any;
  assert.equal(c.cniVersion, '1.0.0');
  const [bridge, portmap] = c.plugins;
  assert.equal(bridge.type, 'bridge');
  assert.equal(bridge.bridge, 'k8tsA');
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.ipMasq, false);
  assert.equal(bridge.hairpinMode, true);
  assert.deepEqual(bridge.ipam.ranges, [[{ subnet: '10.42.7.0/24' }]]);
  assert.equal(bridge.ipam.dataDir, '/data/ipam');
  assert.equal(portmap.type, 'portmap');
  assert.deepEqual(portmap.capabilities, { portMappings: true });
  assert.throws(() => cniConflist({ confDir: '/x', ipamDataDir: '/y', podCIDR: '10.42.7.0/24', bridge: 'a-very-long-bridge-name' }), /15/);
});

test('writeCniConfig: one conflist, others removed; missing plugins are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-cni-'));
  try {
    const bin = join(dir, 'bin');
    const conf = join(dir, 'net.d');
    assert.throws(() => writeCniConfig({ confDir: conf, ipamDataDir: join(dir, 'ipam'), podCIDR: '10.42.1.0/24', binDir: bin }), /bridge, host-local, portmap, loopback.*containernetworking-plugins/);
    mkdirSync(bin, { recursive: true });
    mkdirSync(conf, { recursive: true });
    for (const p of ['bridge', 'host-local', 'portmap', 'loopback']) writeFileSync(join(bin, p), '');
    assert.deepEqual(missingCniPlugins(bin), []);
    writeFileSync(join(conf, '05-other.conflist'), '{}');
    const path = writeCniConfig({ confDir: conf, ipamDataDir: join(dir, 'ipam'), podCIDR: '10.42.1.0/24', binDir: bin });
    assert.deepEqual(readdirSync(conf), ['10-k8ts.conflist']);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).plugins[0].ipam.ranges[0][0].subnet, '10.42.1.0/24');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const canNetns = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('ensureBridge: creates the bridge up with the gateway address, idempotently (in a netns of its own)', { skip: canNetns ? undefined : 'needs root and ip netns' }, () => {
  const ns = `ktcni${randomBytes(3).toString('hex')}`;
  const cni = fileURLToPath(new URL('./cni.js', import.meta.url));
  const inNs = (args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  const ensure = () => inNs([process.execPath, '-e', `import(${JSON.stringify(cni)}).then((m) => m.ensureBridge('ktbr0', '10.42.7.0/24')).then((c) => console.log(c))`]).trim();
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    assert.equal(ensure(), 'true');
    const addr = inNs(['ip', '-o', '-4', 'addr', 'show', 'dev', 'ktbr0']);
    assert.match(addr, /inet 10\.42\.7\.1\/24/);
    assert.match(inNs(['ip', '-o', 'link', 'show', 'dev', 'ktbr0']), /[<,]UP[,>]/);
    assert.match(inNs(['ip', '-d', 'link', 'show', 'dev', 'ktbr0']), /bridge/);
    // again: nothing new, still one address
    assert.equal(ensure(), 'false');
    assert.equal(inNs(['ip', '-o', '-4', 'addr', 'show', 'dev', 'ktbr0']).trim().split('\n').length, 1);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniConflist, gatewayOf, missingCniPlugins, writeCniConfig } from './cni.js';

test('gatewayOf: first host of the CIDR', () => {
  assert.equal(gatewayOf('10.42.3.0/24'), '10.42.3.1');
  assert.equal(gatewayOf('10.42.3.77/24'), '10.42.3.1');
  assert.equal(gatewayOf('10.42.0.0/16'), '10.42.0.1');
  assert.throws(() => gatewayOf('10.42.0.0'), /invalid/);
  assert.throws(() => gatewayOf('10.42.0.0/31'), /prefix/);
  assert.throws(() => gatewayOf('10.300.0.0/24'), /invalid/);
});

test('conflist: bridge gateway with masquerade, host-local on the podCIDR, portmap', () => {
  const c = cniConflist({ confDir: '/x', ipamDataDir: '/data/ipam', podCIDR: '10.42.7.0/24', bridge: 'k8tsA' }) as any;
  assert.equal(c.cniVersion, '1.0.0');
  const [bridge, portmap] = c.plugins;
  assert.equal(bridge.type, 'bridge');
  assert.equal(bridge.bridge, 'k8tsA');
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.ipMasq, true);
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

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Node } from 'kubernetes-types/core/v1.js';
import { candidateRoutes, directlyConnected, inSubnet, parseAddrs, startNodeRoutes } from './nodeRoutes.js';

const node = (name: string, cidr: string | undefined, ip: string | undefined): Node => ({
  metadata: { name },
  spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {},
  status: { addresses: ip ? [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] : [] },
});

const ADDRS = JSON.stringify([
  { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
  { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.168.7.11', prefixlen: 24, scope: 'global' }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }] },
  { ifname: 'k8ts0', addr_info: [{ family: 'inet', local: '10.42.0.1', prefixlen: 24, scope: 'global' }] },
]);

/** A stand-in for Informer<Node>: enough for startNodeRoutes. */
function fakeNodes(initial: Node[]) {
  const items = new Map(initial.map((n) => [n.metadata!.name!, n]));
  const handlers: { onAdd?: (n: Node) => void; onUpdate?: (a: Node, b: Node) => void; onDelete?: (n: Node) => void }[] = [];
  return {
    informer: {
      hasSynced: true,
      waitForSync: async () => undefined,
      list: () => [...items.values()],
      addEventHandler: (h: (typeof handlers)[0]) => handlers.push(h),
    } as never,
    set(n: Node) {
      const old = items.get(n.metadata!.name!);
      items.set(n.metadata!.name!, n);
      for (const h of handlers) old ? h.onUpdate?.(old, n) : h.onAdd?.(n);
    },
    del(name: string) {
      const old = items.get(name)!;
      items.delete(name);
      for (const h of handlers) h.onDelete?.(old);
    },
  };
}

function fakeIp() {
  const routes = new Map<string, string>();
  const calls: string[] = [];
  return {
    routes,
    calls,
    ip: async (args: string[]) => {
      calls.push(args.join(' '));
      if (args[0] === '-j') return ADDRS;
      if (args[0] === 'route' && args[1] === 'replace') routes.set(args[2]!, args[4]!);
      if (args[0] === 'route' && args[1] === 'del') {
        if (routes.get(args[2]!) !== args[4]) throw new Error('RTNETLINK answers: No such process');
        routes.delete(args[2]!);
      }
      if (args[0] === 'route' && args[1] === 'show') return routes.has(args[2]!) ? `${args[2]} via ${routes.get(args[2]!)} dev eth0\n` : '';
      return '';
    },
  };
}

const log = pino({ level: 'silent' });

describe('node routes (host-gw)', () => {
  it('picks the other nodes\' podCIDRs with an InternalIP of the same family', () => {
    const c = candidateRoutes([node('a', '10.42.0.0/24', '192.168.7.11'), node('b', '10.42.1.0/24', '192.168.7.12'), node('c', undefined, '192.168.7.13'), node('d', 'fd00:42:1::/64', '192.168.7.14')], 'a');
    assert.deepEqual([...c], [['10.42.1.0/24', '192.168.7.12']]);
  });

  it('keeps only gateways on a directly connected network, never loopback or ourselves', () => {
    const nets = parseAddrs(ADDRS);
    assert.deepEqual(nets, [{ address: '192.168.7.11', prefix: 24 }, { address: '10.42.0.1', prefix: 24 }]);
    const got = directlyConnected(
      new Map([
        ['10.42.1.0/24', '192.168.7.12'],
        ['10.42.2.0/24', '192.168.8.12'],
        ['10.42.3.0/24', '127.0.0.1'],
        ['10.42.4.0/24', '192.168.7.11'],
      ]),
      nets,
    );
    assert.deepEqual([...got], [['10.42.1.0/24', '192.168.7.12']]);
  });

  it('matches subnets for both families', () => {
    assert.equal(inSubnet('192.168.7.200', { address: '192.168.7.1', prefix: 24 }), true);
    assert.equal(inSubnet('192.168.6.200', { address: '192.168.7.1', prefix: 23 }), true);
    assert.equal(inSubnet('192.168.8.1', { address: '192.168.7.1', prefix: 23 }), false);
    assert.equal(inSubnet('fd00::5', { address: 'fd00::1', prefix: 64 }), true);
    assert.equal(inSubnet('fd01::5', { address: 'fd00::1', prefix: 64 }), false);
    assert.equal(inSubnet('fd00::5', { address: '192.168.7.1', prefix: 0 }), false);
  });

  it('adds, moves and removes routes as nodes change, and removes all on stop', async () => {
    const nodes = fakeNodes([node('a', '10.42.0.0/24', '192.168.7.11'), node('b', '10.42.1.0/24', '192.168.7.12')]);
    const ip = fakeIp();
    let forwarding = 0;
    const r = await startNodeRoutes({ nodes: nodes.informer, nodeName: 'a', log, ip: ip.ip, resyncMs: 3_600_000, enableForwarding: async () => void forwarding++ });
    assert.deepEqual([...ip.routes], [['10.42.1.0/24', '192.168.7.12']]);
    assert.equal(forwarding, 1);

    nodes.set(node('c', '10.42.2.0/24', '192.168.7.13'));
    await r.sync();
    assert.deepEqual([...ip.routes].sort(), [['10.42.1.0/24', '192.168.7.12'], ['10.42.2.0/24', '192.168.7.13']]);

    // a heartbeat (same CIDR and address) changes nothing
    const before = ip.calls.length;
    nodes.set({ ...node('b', '10.42.1.0/24', '192.168.7.12'), metadata: { name: 'b', resourceVersion: '9' } });
    await r.sync();
    assert.equal(ip.calls.filter((c, i) => i >= before && c.startsWith('route replace')).length, 0);

    // b moves to another address; c goes away
    nodes.set(node('b', '10.42.1.0/24', '192.168.7.22'));
    nodes.del('c');
    await r.sync();
    assert.deepEqual([...ip.routes], [['10.42.1.0/24', '192.168.7.22']]);

    // a route deleted behind our back comes back on the next sync
    ip.routes.clear();
    await r.sync();
    assert.deepEqual([...ip.routes], [['10.42.1.0/24', '192.168.7.22']]);

    await r.stop();
    assert.deepEqual([...ip.routes], []);
    assert.deepEqual([...r.routes()], []);
  });
});

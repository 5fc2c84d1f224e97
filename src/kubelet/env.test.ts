import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ContainerConfigError, containerEnv, expand, expandCommand, serviceEnv } from './env.js';

const pod = (env: unknown[], envFrom: unknown[] = []): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { a: 'b' } },
  spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [{ name: 'c', image: 'i', env, envFrom, resources: { limits: { cpu: '1500m', memory: '64Mi' } } } as never] },
});
const src = {
  configMap: async (_ns: string, name: string) => (name === 'cm' ? { data: { k: 'v', other: 'o' } } : undefined),
  secret: async (_ns: string, name: string) => (name === 's' ? { data: { pw: Buffer.from('hunter2').toString('base64') } } : undefined),
};
const ctx = { nodeName: 'n1', hostIP: '192.0.2.1', podIP: '10.42.0.5', serviceEnv: { KUBERNETES_SERVICE_HOST: '10.43.0.1' } };

test('expand handles $(VAR), $$ and unknown references', () => {
  const vars = new Map([['A', 'x']]);
  assert.equal(expand('$(A)-$(B)-$$(A)-$', vars), 'x-$(B)-$(A)-$');
});

test('env from values, fieldRef, resourceFieldRef, configMap/secret refs and envFrom, in order', async () => {
  const p = pod(
    [
      { name: 'V', value: 'plain' },
      { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'LBL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['a']" } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'K', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
      { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nope', optional: true } } },
      { name: 'X', value: '$(K)-$(NAME)' },
    ],
    [{ configMapRef: { name: 'cm' }, prefix: 'P_' }],
  );
  const env = Object.fromEntries((await containerEnv(p, p.spec!.containers[0]!, src, ctx)).map((e) => [e.key, e.value]));
  assert.deepEqual(
    { V: env.V, NAME: env.NAME, LBL: env.LBL, IP: env.IP, CPU: env.CPU, MEM: env.MEM, K: env.K, PW: env.PW, X: env.X, P_other: env.P_other, S: env.KUBERNETES_SERVICE_HOST },
    { V: 'plain', NAME: 'p', LBL: 'b', IP: '10.42.0.5', CPU: '2', MEM: '64', K: 'v', PW: 'hunter2', X: 'v-p', P_other: 'o', S: '10.43.0.1' },
  );
  assert.ok(!('OPT' in env));
  assert.deepEqual(expandCommand({ name: 'c', command: ['echo', '$(K)'], args: ['$(PW)'] }, [{ key: 'K', value: '1' }]), { command: ['echo', '1'], args: ['$(PW)'] });
});

test('a missing required key or object is a CreateContainerConfigError', async () => {
  for (const env of [[{ name: 'K', valueFrom: { configMapKeyRef: { name: 'cm', key: 'missing' } } }], [{ name: 'K', valueFrom: { secretKeyRef: { name: 'nosecret', key: 'x' } } }]]) {
    const p = pod(env);
    await assert.rejects(containerEnv(p, p.spec!.containers[0]!, src, ctx), (e: unknown) => e instanceof ContainerConfigError && e.reason === 'CreateContainerConfigError');
  }
  const p = pod([], [{ configMapRef: { name: 'gone' } }]);
  await assert.rejects(containerEnv(p, p.spec!.containers[0]!, src, ctx), ContainerConfigError);
});

test('service link variables', () => {
  const env = serviceEnv([{ metadata: { name: 'my-svc' }, spec: { clusterIP: '10.43.0.9', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } }, { metadata: { name: 'headless' }, spec: { clusterIP: 'None', ports: [{ port: 1 }] } }]);
  assert.equal(env.MY_SVC_SERVICE_HOST, '10.43.0.9');
  assert.equal(env.MY_SVC_SERVICE_PORT_HTTP, '80');
  assert.equal(env.MY_SVC_PORT_80_TCP_ADDR, '10.43.0.9');
  assert.ok(!('HEADLESS_SERVICE_HOST' in env));
});

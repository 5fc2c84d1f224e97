import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CriClient, CriError, criProtoPath, isDeadlineExceeded, isNotFound, nanosToDate } from './client.js';

// A fake runtime speaking our api.proto with snake_case field names, as a Go
// runtime would: proves the wire mapping (names, int64, enums, bytes, maps).
let server: grpc.Server;
let dir: string;
let socket: string;
const seen: Record<string, any> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'k8ts-crifake-'));
  socket = join(dir, 'cri.sock');
  const def = protoLoader.loadSync(criProtoPath(), { keepCase: true, longs: String, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  server = new grpc.Server();
  server.addService(pkg.runtime.v1.RuntimeService.service, {
    Version: (_c: any, cb: any) => cb(null, { version: '0.1.0', runtime_name: 'fake', runtime_version: '9.9', runtime_api_version: 'v1' }),
    RunPodSandbox: (c: any, cb: any) => {
      seen.run = c.request;
      cb(null, { pod_sandbox_id: 'sb1' });
    },
    ContainerStatus: (c: any, cb: any) =>
      cb(null, {
        status: {
          id: c.request.container_id,
          metadata: { name: 'web', attempt: 2 },
          state: 'CONTAINER_EXITED',
          created_at: '1795310566996123456',
          finished_at: '1795310567996123456',
          exit_code: 137,
          reason: 'OOMKilled',
          labels: { a: 'b' },
          log_path: '/logs/web/2.log',
        },
        info: {},
      }),
    ExecSync: () => {
      /* never answers: the client's deadline must fire */
    },
    RemoveContainer: (_c: any, cb: any) => cb({ code: grpc.status.NOT_FOUND, details: 'container "x" not found' }),
    ListContainers: (c: any, cb: any) => {
      seen.list = c.request;
      cb(null, { containers: [] });
    },
  });
  server.addService(pkg.runtime.v1.ImageService.service, {
    ImageStatus: (c: any, cb: any) => cb(null, c.request.image.image === 'have' ? { image: { id: 'sha256:abc', repo_tags: ['have:latest'], size: '123' } } : {}),
  });
  await new Promise<void>((res, rej) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
});

after(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

test('maps requests and responses: camelCase, int64 strings, enum names', async () => {
  const cri = new CriClient(socket, { timeoutMs: 2000 });
  try {
    assert.deepEqual(await cri.version(), { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '9.9', runtimeApiVersion: 'v1' });
    const id = await cri.runPodSandbox({
      metadata: { name: 'p', uid: 'u', namespace: 'ns' },
      portMappings: [{ protocol: 'UDP', containerPort: 53, hostPort: 5353 }],
      linux: { securityContext: { namespaceOptions: { pid: 'CONTAINER' }, runAsUser: { value: 1000 } } },
    });
    assert.equal(id, 'sb1');
    assert.equal(seen.run.config.metadata.namespace, 'ns');
    assert.deepEqual(seen.run.config.port_mappings[0], { protocol: 'UDP', container_port: 53, host_port: 5353, host_ip: '' });
    assert.equal(seen.run.config.linux.security_context.namespace_options.pid, 'CONTAINER');
    assert.equal(seen.run.config.linux.security_context.run_as_user.value, '1000');

    const st = (await cri.containerStatus('c1')).status!;
    assert.equal(st.id, 'c1');
    assert.equal(st.state, 'CONTAINER_EXITED');
    assert.equal(st.exitCode, 137);
    assert.equal(st.reason, 'OOMKilled');
    assert.equal(st.createdAt, '1795310566996123456'); // exact beyond 2^53
    assert.equal(nanosToDate(st.finishedAt)!.getTime(), 1795310567996);
    assert.equal(nanosToDate(st.startedAt), null);
    assert.equal(st.logPath, '/logs/web/2.log');
    assert.deepEqual(st.labels, { a: 'b' });

    await cri.listContainers({ state: { state: 'CONTAINER_RUNNING' }, labelSelector: { x: 'y' } });
    assert.equal(seen.list.filter.state.state, 'CONTAINER_RUNNING');
    assert.deepEqual(seen.list.filter.label_selector, { x: 'y' });

    assert.equal((await cri.imageStatus('have'))?.repoTags[0], 'have:latest');
    assert.equal(await cri.imageStatus('missing'), null);
  } finally {
    cri.close();
  }
});

test('errors carry the gRPC code; every call has a deadline', async () => {
  const cri = new CriClient(socket, { timeoutMs: 300 });
  try {
    await assert.rejects(cri.removeContainer('x'), (e) => isNotFound(e) && (e as CriError).message.includes('not found'));
    const t0 = Date.now();
    await assert.rejects(cri.execSync('c1', ['true'], 0), (e) => isDeadlineExceeded(e));
    assert.ok(Date.now() - t0 < 2000);
    // a method the fake does not implement
    await assert.rejects(cri.status(), (e) => e instanceof CriError && e.code === grpc.status.UNIMPLEMENTED);
  } finally {
    cri.close();
  }
  const nobody = new CriClient(join(dir, 'nobody.sock'), { timeoutMs: 300 });
  try {
    await assert.rejects(nobody.version(), (e) => e instanceof CriError && (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED));
  } finally {
    nobody.close();
  }
});

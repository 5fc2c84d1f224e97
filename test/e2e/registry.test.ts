// k8ts's own image registry with real clients: skopeo pushes and pulls,
// `k8ts image import` loads OCI and docker archives, containerd pulls and runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, eventually, run, startServer, type TestServer } from '../support/cluster.js';
import { buildBusyboxImage, busyboxAvailable, type BusyboxImage } from '../support/images.js';

const haveSkopeo = existsSync('/usr/bin/skopeo');
const skip = !busyboxAvailable() ? 'needs /usr/bin/busybox (Debian busybox-static)' : !haveSkopeo ? 'needs skopeo' : false;

let server: TestServer;
let img: BusyboxImage;
let reg: string;
let work: string;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'k8ts-registry-e2e-'));
  [server, img] = await Promise.all([startServer({ args: ['--registry-port', '0'] }), buildBusyboxImage()]);
  const m = /registry listening on (127\.0\.0\.1:\d+)/.exec(server.logs());
  assert.ok(m, `no registry address in the server's logs:\n${server.logs()}`);
  reg = m[1];
});

after(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const skopeo = async (...args: string[]) => {
  const r = await run('skopeo', args, { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `skopeo ${args.join(' ')}:\n${r.stderr}`);
  return r.stdout;
};
const k8ts = async (...args: string[]) => {
  const r = await run(process.execPath, [cli, ...args], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `k8ts ${args.join(' ')}:\n${r.stderr}`);
  return r.stdout;
};
const get = (path: string, init?: RequestInit) => fetch(`http://${reg}${path}`, init);

test('skopeo pushes an image, inspects it and copies it back unchanged', { skip }, async () => {
  await skopeo('copy', '--dest-tls-verify=false', `oci:${img.layoutDir}:latest`, `docker://${reg}/test/busybox:1`);
  const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${reg}/test/busybox:1`)) as { Digest: string; RepoTags: string[]; Layers: string[]; Os: string };
  assert.equal(info.Digest, img.digest);
  assert.deepEqual(info.RepoTags, ['1']);
  assert.equal(info.Os, 'linux');
  const back = join(work, 'back');
  await skopeo('copy', '--src-tls-verify=false', `docker://${reg}/test/busybox:1`, `dir:${back}`);
  const manifest = JSON.parse(readFileSync(join(back, 'manifest.json'), 'utf8')) as { layers: { digest: string }[] };
  const layoutManifest = JSON.parse(readFileSync(join(img.layoutDir, 'blobs/sha256', img.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  assert.equal(manifest.layers[0].digest, layoutManifest.layers[0].digest);
  assert.deepEqual(info.Layers, [layoutManifest.layers[0].digest]);
  // the layer's bytes came back exactly
  const layer = readFileSync(join(back, manifest.layers[0].digest.slice(7)));
  assert.ok(layer.equals(readFileSync(join(img.layoutDir, 'blobs/sha256', manifest.layers[0].digest.slice(7)))));
});

test('k8ts image import loads an OCI archive over HTTP and a docker archive into the data dir', { skip }, async () => {
  const out = await k8ts('image', 'import', img.archive, '--registry', reg, '--name', 'imported/oci:2');
  assert.match(out, /imported imported\/oci:2 sha256:[0-9a-f]{64}/);
  const docker = join(work, 'busybox-docker.tar');
  await skopeo('copy', `oci:${img.layoutDir}:latest`, `docker-archive:${docker}:dock/busybox:3`);
  // straight into the running server's registry files
  const out2 = await k8ts('image', 'import', docker, '--data-dir', server.dataDir);
  assert.match(out2, /imported dock\/busybox:3 /);
  const catalog = (await (await get('/v2/_catalog')).json()) as { repositories: string[] };
  for (const r of ['imported/oci', 'dock/busybox']) assert.ok(catalog.repositories.includes(r), `${r} in ${catalog.repositories}`);
  assert.deepEqual(await (await get('/v2/imported/oci/tags/list')).json(), { name: 'imported/oci', tags: ['2'] });
  assert.deepEqual(await (await get('/v2/dock/busybox/tags/list')).json(), { name: 'dock/busybox', tags: ['3'] });
  // and real clients read what was imported
  const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${reg}/dock/busybox:3`)) as { Os: string; Layers: string[] };
  assert.equal(info.Os, 'linux');
  assert.equal(info.Layers.length, 1);
});

test('registry errors: bad digest upload is 400 DIGEST_INVALID, unknown manifest is 404 MANIFEST_UNKNOWN', { skip }, async () => {
  const v2 = await get('/v2/');
  assert.equal(v2.status, 200);
  assert.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0');
  const bad = await get(`/v2/test/busybox/blobs/uploads/?digest=sha256:${'0'.repeat(64)}`, { method: 'POST', body: 'not that' });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { errors: { code: string }[] }).errors[0].code, 'DIGEST_INVALID');
  const unknown = await get('/v2/test/busybox/manifests/does-not-exist');
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { errors: { code: string }[] }).errors[0].code, 'MANIFEST_UNKNOWN');
});

const containerdSkip = skip || (!existsSync('/usr/bin/containerd') || !existsSync('/usr/bin/ctr') || !['/usr/sbin/runc', '/usr/bin/runc'].some((p) => existsSync(p)) ? 'needs containerd, ctr and runc' : process.getuid?.() !== 0 ? 'containerd needs root' : false);

test('containerd pulls from the registry and runs the image', { skip: containerdSkip }, async () => {
  await skopeo('copy', '--dest-tls-verify=false', `oci:${img.layoutDir}:latest`, `docker://${reg}/test/busybox:ctr`);
  // a throwaway containerd: own root, state and socket, never the system's
  const d = join(work, 'containerd');
  const sock = join(d, 'containerd.sock');
  writeFileSync(
    join(work, 'containerd.toml'),
    `version = 2
root = "${d}/root"
state = "${d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
`,
  );
  let log = '';
  const proc: ChildProcess = spawn('/usr/bin/containerd', ['--config', join(work, 'containerd.toml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (b) => (log += b));
  proc.stderr!.on('data', (b) => (log += b));
  try {
    await eventually(() => existsSync(sock), 10_000, `containerd socket\n${log}`);
    const ctr = (...args: string[]) => run('/usr/bin/ctr', ['--address', sock, ...args], { timeoutMs: 30_000 });
    const pull = await ctr('images', 'pull', '--plain-http', `${reg}/test/busybox:ctr`);
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    const ls = await ctr('images', 'ls', '-q');
    assert.match(ls.stdout, new RegExp(`${reg}/test/busybox:ctr`));
    const r = await ctr('run', '--rm', `${reg}/test/busybox:ctr`, `k8ts-e2e-${process.pid}`, 'sh', '-c', 'echo hello from $(cat /etc/passwd | head -1 | cut -d: -f1); ls /bin/httpd /bin/wget /bin/nc');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello from root/);
    assert.match(r.stdout, /\/bin\/httpd/);
  } finally {
    proc.kill('SIGTERM');
    await new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const t = setTimeout(() => {
        proc.kill('SIGKILL');
      }, 5000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
});

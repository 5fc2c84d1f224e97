// The ingress e2e cases again, against `--ingress-data-plane nginx` (Debian's
// nginx driven by the same controller; see src/ingress/README.md). Skipped where
// /usr/sbin/nginx is missing.
import { existsSync } from 'node:fs';
import { test } from 'node:test';

if (existsSync('/usr/sbin/nginx')) {
  process.env.K8TS_INGRESS_DATA_PLANE = 'nginx';
  await import('./ingress.test.js');
} else {
  test('ingress with the nginx data plane', { skip: 'needs /usr/sbin/nginx (apt-get install nginx-light)' }, () => {});
}

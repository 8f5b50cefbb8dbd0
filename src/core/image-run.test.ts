import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FerryError } from '../errors/index.js';
import { DEFAULT_IMAGE_PATH, planImageRun, splitImageUser } from './image-run.js';
import type { ImageRunConfig } from './image.js';

const config: ImageRunConfig = {
  entrypoint: ['/docker-entrypoint.sh'],
  cmd: ['nginx', '-g', 'daemon off;'],
  env: ['PATH=/opt/bin:/bin', 'LANG=C.UTF-8', 'MODE=a', 'MODE=b', 'EMPTY=', 'broken'],
  workingDir: '/app',
  user: 'www:www',
  exposedPorts: ['53/udp', '8080/tcp', '9090/tcp'],
};

test("the image's own Entrypoint and Cmd, Env (a later entry wins), WorkingDir, User and first tcp port", () => {
  assert.deepEqual(planImageRun({ config }, undefined), {
    argv: ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'],
    env: { PATH: '/opt/bin:/bin', LANG: 'C.UTF-8', MODE: 'b', EMPTY: '' },
    workdir: '/app',
    user: 'www:www',
    exposedPort: 8080,
  });
});

test("Docker's rule: a new entrypoint drops the image's cmd; a new cmd keeps the image's entrypoint", () => {
  assert.deepEqual(planImageRun({ config, entrypoint: ['/bin/sh'] }, undefined).argv, ['/bin/sh']);
  assert.deepEqual(planImageRun({ config, entrypoint: ['/bin/sh'], cmd: ['-c', 'id'] }, undefined).argv, ['/bin/sh', '-c', 'id']);
  assert.deepEqual(planImageRun({ config, cmd: ['httpd'] }, undefined).argv, ['/docker-entrypoint.sh', 'httpd']);
});

test("the manifest's command replaces both; the overrides of workdir and user win", () => {
  const plan = planImageRun({ config, entrypoint: ['/x'], workdir: '/srv', user: '1000' }, ['/bin/cat', '-']);
  assert.deepEqual([plan.argv, plan.workdir, plan.user], [['/bin/cat', '-'], '/srv', '1000']);
});

test('no config at all: root, /, Docker\'s PATH, no port; and nothing to run is invalid-manifest', () => {
  assert.deepEqual(planImageRun({ entrypoint: ['/bin/cat'] }, undefined), { argv: ['/bin/cat'], env: { PATH: DEFAULT_IMAGE_PATH }, workdir: '/', user: '' });
  assert.throws(() => planImageRun({}, undefined), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest');
  assert.throws(() => planImageRun({ config: { ...config, entrypoint: [], cmd: [] } }, []), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest');
});

test('User splits into user and group; empty parts are root', () => {
  assert.deepEqual(splitImageUser(''), { user: '0', group: undefined });
  assert.deepEqual(splitImageUser('app'), { user: 'app', group: undefined });
  assert.deepEqual(splitImageUser('1000:50'), { user: '1000', group: '50' });
  assert.deepEqual(splitImageUser(':staff'), { user: '0', group: 'staff' });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invocationAccess } from '../auth/index.js';
import type { SurfaceRoute } from './surface.js';
import { routesOverlap } from './route-overlap.js';

const r = (method: string, path: string, more: Partial<SurfaceRoute> = {}): SurfaceRoute => ({ method, path, access: invocationAccess, ...more });

test('literal paths clash when equal and the methods meet', () => {
  assert.equal(routesOverlap(r('GET', '/list'), r('GET', '/list')), true);
  assert.equal(routesOverlap(r('*', '/list'), r('POST', '/list')), true);
  assert.equal(routesOverlap(r('HEAD', '/list'), r('GET', '/list')), true);
  assert.equal(routesOverlap(r('GET', '/list'), r('POST', '/list')), false);
  assert.equal(routesOverlap(r('GET', '/list'), r('GET', '/lists')), false);
  assert.equal(routesOverlap(r('GET', '/a/b'), r('GET', '/a')), false);
});

test('a parameter matches any segment; a rest parameter any remainder, even none', () => {
  assert.equal(routesOverlap(r('GET', '/v1/functions/{name}'), r('GET', '/v1/functions/x')), true);
  assert.equal(routesOverlap(r('GET', '/v1/functions/{name}'), r('GET', '/v1/functions/x/y')), false);
  const fn = r('*', '/fn/{name}/{path}', { rest: true });
  assert.equal(routesOverlap(fn, r('GET', '/fn/hello')), true);
  assert.equal(routesOverlap(fn, r('GET', '/fn/hello/a/b/c')), true);
  assert.equal(routesOverlap(fn, r('GET', '/fnord')), false);
  const api = r('*', '/api/{rest}', { rest: true });
  assert.equal(routesOverlap(api, r('POST', '/api/functions/{name}')), true);
  assert.equal(routesOverlap(api, r('GET', '/v1/functions')), false);
});

test('host-routed routes clash only with host-routed ones whose labels meet', () => {
  const host = r('*', '/{path}', { rest: true, host: '{name}.fn.test' });
  assert.equal(routesOverlap(host, r('GET', '/v1/functions')), false);
  assert.equal(routesOverlap(host, r('GET', '/x', { host: 'Hello.FN.test' })), true);
  assert.equal(routesOverlap(host, r('GET', '/x', { host: 'a.b.fn.test' })), false);
  assert.equal(routesOverlap(host, r('GET', '/x', { host: '{name}.other.test' })), false);
});

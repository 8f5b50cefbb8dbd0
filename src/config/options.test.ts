import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadServerOptions, parseBytes, parseDuration } from './options.js';

test('flags win over environment, environment over defaults', () => {
  const o = loadServerOptions({ port: '9000' }, { FERRY_PORT: '9001', FERRY_HOST: '0.0.0.0' });
  assert.equal(o.port, 9000);
  assert.equal(o.host, '0.0.0.0');
  assert.equal(o.drainTimeoutMs, 30_000);
  assert.equal(loadServerOptions({}, { FERRY_PORT: '9001' }).port, 9001);
});

test('durations and sizes parse with units', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseBytes('6mb'), 6 * 1024 * 1024);
  assert.equal(parseBytes('512MiB'), 512 * 1024 * 1024);
  assert.throws(() => parseDuration('soon'), /not a duration/);
});

test('bad values are refused with the flag named', () => {
  assert.throws(() => loadServerOptions({ port: 'eighty' }, {}), /--port/);
  assert.throws(() => loadServerOptions({ invokeAuth: 'maybe' }, {}), /--invoke-auth/);
  // Sizes, durations and switches too, by the flag or by the variable that carried the value.
  assert.throws(() => loadServerOptions({ maxBodyBytes: '12XB' }, {}), /^Error: --max-body: '12XB' is not a size/);
  assert.throws(() => loadServerOptions({ drainTimeoutMs: '5y' }, {}), /^Error: --drain-timeout: '5y' is not a duration/);
  assert.throws(() => loadServerOptions({}, { FERRY_MAX_BODY: 'zz' }), /^Error: FERRY_MAX_BODY: 'zz' is not a size/);
  assert.throws(() => loadServerOptions({}, { FERRY_UNSANDBOXED: 'perhaps' }), /^Error: FERRY_UNSANDBOXED: 'perhaps' is not a boolean/);
});

test('--redact-headers takes names, *-suffix and prefix-* patterns, lower-cased', () => {
  assert.deepEqual(loadServerOptions({ redactHeaders: 'X-Tenant-Pass, *-pin,x-acme-*' }, {}).redactHeaders, ['x-tenant-pass', '*-pin', 'x-acme-*']);
  assert.deepEqual(loadServerOptions({}, {}).redactHeaders, []);
  for (const bad of ['*', 'a b', 'x-*-y', 'semi;colon']) assert.throws(() => loadServerOptions({ redactHeaders: bad }, {}), /--redact-headers/, bad);
});

test('quotas have defaults for non-admins; 0 still means no limit', () => {
  const o = loadServerOptions({}, {});
  assert.deepEqual(
    [o.quotaFunctions, o.quotaMemoryMb, o.quotaMinInstances, o.quotaObjectBytes, o.quotaVersionMemoryMb, o.quotaVersionMaxInstances],
    [100, 4096, 4, 1024 ** 3, 2048, 32],
  );
  assert.equal(loadServerOptions({ quotaMemoryMb: '0' }, {}).quotaMemoryMb, 0);
});

test('--trust-proxy takes addresses and CIDRs, IPv4 and IPv6', () => {
  assert.deepEqual(loadServerOptions({}, {}).trustProxy, []);
  assert.deepEqual(loadServerOptions({}, { FERRY_TRUST_PROXY: '10.0.0.0/8, ::1' }).trustProxy, ['10.0.0.0/8', '::1']);
  assert.throws(() => loadServerOptions({ trustProxy: 'proxy.example' }, {}), /--trust-proxy/);
});

test("the microvm tier's pools: one VM without a NIC ready by default, none with one; negative sizes refused", () => {
  const o = loadServerOptions({}, {});
  assert.equal(o.microvmPool, 1);
  assert.equal(o.microvmEgressPool, 0);
  const set = loadServerOptions({ microvmPool: '3' }, { FERRY_MICROVM_EGRESS_POOL: '2' });
  assert.deepEqual([set.microvmPool, set.microvmEgressPool], [3, 2]);
  assert.throws(() => loadServerOptions({ microvmEgressPool: '-1' }, {}), /^Error: --microvm-egress-pool: '-1' is not a non-negative integer/);
  assert.equal(o.microvmAccel, 'auto');
  assert.equal(loadServerOptions({}, { FERRY_MICROVM_ACCEL: 'tcg' }).microvmAccel, 'tcg');
  assert.throws(() => loadServerOptions({ microvmAccel: 'hvf' }, {}), /^Error: --microvm-accel: must be 'auto', 'kvm' or 'tcg'/);
});

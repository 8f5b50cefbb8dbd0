import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { apiError } from './client.js';
import { serverFlags } from './commands/server.js';
import { resolveConnection } from './config.js';
import { describeError, CliError } from './errors.js';
import { formatBytes, formatLogEntry, table } from './output.js';

const tmp = mkdtempSync(join(tmpdir(), 'ferry-output-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('output', () => {
  it('aligns table columns', () => {
    assert.equal(table(['NAME', 'V'], [['a', 'v1'], ['longer', 'v22']]), 'NAME    V\na       v1\nlonger  v22\n');
  });
  it('formats sizes', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB');
  });
  it('formats log entries', () => {
    const line = formatLogEntry({ time: 0, version: 'v2', instance: 'abcdef0123456789', requestId: 'req-1', stream: 'stdout', line: 'hello' });
    assert.equal(line, '1970-01-01T00:00:00.000Z v2/abcdef01 [req-1] hello');
    assert.equal(formatLogEntry({ time: '2024-05-01T10:00:00Z', version: 'v1', instance: null, requestId: null, line: 'boot' }), '2024-05-01T10:00:00.000Z v1/- [-] boot');
  });
});

describe('errors', () => {
  it('renders problem+json as detail (code)', () => {
    const e = apiError(404, 'Not Found', 'application/problem+json', JSON.stringify({ detail: "no function 'x'", code: 'function-not-found', status: 404 }));
    assert.equal(describeError(e), "no function 'x' (function-not-found)");
    assert.equal(e.status, 404);
  });
  it('falls back to the status line', () => {
    assert.equal(describeError(apiError(502, 'Bad Gateway', 'text/html', '<html>')), 'HTTP 502 Bad Gateway');
  });
  it('hints at the token on 401 without one', () => {
    const e = apiError(401, 'Unauthorized', 'application/problem+json', JSON.stringify({ detail: 'A bearer token is required', code: 'unauthorized' }));
    assert.match(describeError(e), /FERRY_TOKEN.*\(unauthorized\)$/);
    const withToken = apiError(401, 'Unauthorized', 'application/problem+json', JSON.stringify({ detail: 'bad', code: 'invalid-token' }), 't');
    assert.equal(describeError(withToken), 'bad (invalid-token)');
  });
  it('keeps local errors plain', () => {
    assert.equal(describeError(new CliError('nope')), 'nope');
    assert.equal(describeError(new CliError('refused', { code: 'ECONNREFUSED' })), 'refused (ECONNREFUSED)');
    const sys = Object.assign(new Error("ENOENT: no such file, open 'x'"), { code: 'ENOENT' });
    assert.equal(describeError(sys), "ENOENT: no such file, open 'x'");
  });
});

describe('connection', () => {
  it('prefers flags, then env, then defaults', () => {
    const env = { FERRY_URL: 'http://env:1/', FERRY_TOKEN: 'envtok', FERRY_DATA_DIR: join(tmp, 'none') };
    assert.deepEqual(resolveConnection({ url: 'http://flag:2', token: 'flagtok' }, env, tmp), { url: 'http://flag:2', token: 'flagtok' });
    assert.deepEqual(resolveConnection({}, env, tmp), { url: 'http://env:1', token: 'envtok' });
    assert.deepEqual(resolveConnection({}, {}, tmp), { url: 'http://127.0.0.1:8080', token: undefined });
  });
  it('reads <data dir>/admin-token when FERRY_TOKEN is unset', () => {
    mkdirSync(join(tmp, '.ferry'));
    writeFileSync(join(tmp, '.ferry', 'admin-token'), 'fromfile\n');
    assert.equal(resolveConnection({}, {}, tmp).token, 'fromfile');
    mkdirSync(join(tmp, 'data'));
    writeFileSync(join(tmp, 'data', 'admin-token'), 'custom');
    assert.equal(resolveConnection({}, { FERRY_DATA_DIR: 'data' }, tmp).token, 'custom');
    assert.equal(resolveConnection({}, { FERRY_TOKEN: 'env' }, tmp).token, 'env');
  });
  it('rejects a bad URL', () => {
    assert.throws(() => resolveConnection({ url: 'not a url' }, {}, tmp), CliError);
    assert.throws(() => resolveConnection({ url: 'ftp://x' }, {}, tmp), CliError);
  });
});

describe('server flags', () => {
  it('maps flag attributes to settings keys', () => {
    assert.deepEqual(serverFlags({ port: '9000', drainTimeout: '5s', metricsPublic: true, dataDir: '/d' }), {
      port: '9000',
      drainTimeoutMs: '5s',
      metricsPublic: true,
      dataDir: '/d',
    });
  });
});

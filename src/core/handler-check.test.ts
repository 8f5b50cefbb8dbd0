import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_REPORT_MARK, parseCheckReport } from './handler-check.js';
import { CHECK_REPORT_MARK as SHIM_MARK } from '../runtime/shim/check-report.js';

const line = (o: unknown): string => `${CHECK_REPORT_MARK}${JSON.stringify(o)}\n`;

test('the shim writes the mark the server looks for', () => {
  assert.equal(SHIM_MARK, CHECK_REPORT_MARK);
});

test('the last report wins; output before it is ignored', () => {
  const out = `hello from import\n${line({ ok: false, message: 'forged early' })}more output\n${line({ ok: true })}`;
  assert.deepEqual(parseCheckReport(out, '/pkg'), { ok: true });
});

test('a failure keeps only validated fields, paths made relative to the package', () => {
  const r = parseCheckReport(line({ ok: false, message: 'SyntaxError: x\u0007', file: 'file:///pkg/lib/a.js', line: 3, column: 7, extra: 'dropped' }), '/pkg');
  assert.deepEqual(r, { ok: false, message: 'SyntaxError: x', file: 'lib/a.js', line: 3, column: 7 });
});

test('host paths, climbing paths and bad positions are dropped', () => {
  for (const file of ['/etc/passwd', '../outside.js', 'a/../../b.js']) {
    const r = parseCheckReport(line({ ok: false, message: 'm', file, line: -1, column: 1.5 }), '/pkg');
    assert.deepEqual(r, { ok: false, message: 'm' }, file);
  }
});

test('no report, a broken one, or one without a message is no report', () => {
  assert.equal(parseCheckReport('just output\n', '/pkg'), undefined);
  assert.equal(parseCheckReport(`${CHECK_REPORT_MARK}{not json\n`, '/pkg'), undefined);
  assert.equal(parseCheckReport(line({ ok: false }), '/pkg'), undefined);
  assert.equal(parseCheckReport(line([1, 2]), '/pkg'), undefined);
});

test('a long message is capped', () => {
  const r = parseCheckReport(line({ ok: false, message: 'x'.repeat(10_000) }), '/pkg');
  assert.ok(r && !r.ok && r.message.length <= 2001);
});

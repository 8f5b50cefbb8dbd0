/** Conformance tests of the executions sub-store: acceptance, idempotency, runs begun and ended, re-drives, paging. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inlineResultBytes, type LeaseHolder, type NewExecution } from '../../core/executions.js';
import { fnRecord, logLine, withStore, type OpenStore } from './fixtures.js';

const t0 = 1_700_000_000_000;
let n = 0;

function newExec(over: Partial<NewExecution> = {}): NewExecution {
  n++;
  return {
    id: n.toString(16).padStart(32, '0'),
    function: 'fn',
    version: 'v1',
    public: false,
    request: { method: 'POST', path: '/p?q=1', headers: ['content-type', 'text/plain', 'x-a', 'b'], body: Buffer.from(`body ${n}`) },
    idempotencyKey: null,
    callback: null,
    createdAt: t0,
    ...over,
  };
}

const me: LeaseHolder = { node: 'node-a', boot: 'boot-1' };

export function executionTests(open: OpenStore): void {
  const run = withStore(open);

  describe('executions', () => {
    it('stores a batch and reads each back as submitted, queued', () =>
      run(async (s) => {
        const batch = [newExec(), newExec({ public: true, callback: { url: 'https://example.test/cb', taskToken: 'tt' } }), newExec({ request: { method: 'GET', path: '/', headers: [], body: Buffer.alloc(0) } })];
        assert.deepEqual(await s.executions.create(batch), batch.map((e) => ({ id: e.id, created: true })));
        for (const e of batch) {
          const got = await s.executions.get(e.id);
          assert.ok(got);
          assert.deepEqual(
            { id: got.id, function: got.function, version: got.version, public: got.public, request: got.request, callback: got.callback, createdAt: got.createdAt },
            { id: e.id, function: e.function, version: e.version, public: e.public, request: e.request, callback: e.callback, createdAt: e.createdAt },
          );
          assert.equal(got.status, 'queued');
          assert.equal(got.attempts, 0);
          assert.equal(got.result, null);
        }
        assert.equal(await s.executions.countOpen(), 3);
        assert.equal(await s.executions.get('f'.repeat(32)), undefined);
      }));

    it('an idempotency key answers the first execution, within a batch and later; keys are per function', () =>
      run(async (s) => {
        const a = newExec({ idempotencyKey: 'k' });
        const b = newExec({ idempotencyKey: 'k' });
        const other = newExec({ idempotencyKey: 'k', function: 'other' });
        assert.deepEqual(await s.executions.create([a, b, other]), [{ id: a.id, created: true }, { id: a.id, created: false }, { id: other.id, created: true }]);
        assert.deepEqual(await s.executions.create([newExec({ idempotencyKey: 'k' })]), [{ id: a.id, created: false }]);
        assert.equal(await s.executions.countOpen(), 2);
      }));

    it('begins runs of queued executions under a holder, in the order asked; a retry keeps its attempts', () =>
      run(async (s) => {
        const [a, b, c] = [newExec(), newExec(), newExec()];
        await s.executions.create([a!, b!, c!]);
        const begun = await s.executions.begin({ ids: [c!.id, a!.id], holder: me, now: t0 + 100 });
        assert.deepEqual(begun.map((e) => [e.id, e.status, e.startedAt, e.runStartedAt]), [[c!.id, 'running', t0 + 100, t0 + 100], [a!.id, 'running', t0 + 100, t0 + 100]]);
        assert.deepEqual(begun[0]!.lease, me);
        assert.equal((await s.executions.get(b!.id))!.status, 'queued');
        assert.deepEqual(await s.executions.finish([{ id: a!.id, holder: me, status: 'queued', counted: true, notBefore: t0 + 500, now: t0 + 200, error: { code: 'function-error', detail: 'boom' } }]), [true]);
        const [retry] = await s.executions.begin({ ids: [a!.id], holder: me, now: t0 + 600 });
        assert.deepEqual([retry!.attempts, retry!.error?.code, retry!.startedAt, retry!.runStartedAt, retry!.lostRuns], [1, 'function-error', t0 + 100, t0 + 600, 0]);
      }));

    it('ends a run only for the lease holder; results keep status, headers and body; large bodies as objects', () =>
      run(async (s) => {
        const [a, b] = [newExec({ callback: { url: 'http://x.test/', taskToken: null } }), newExec()];
        await s.executions.create([a!, b!]);
        await s.executions.begin({ ids: [a!.id, b!.id], holder: me, now: t0 + 10 });
        const big = Buffer.alloc(inlineResultBytes + 1, 7);
        const pending = { state: 'pending' as const, attempts: 0, lastStatus: null, lastError: null, at: null };
        const ok = await s.executions.finish([
          { id: a!.id, holder: { ...me, boot: 'other-boot' }, status: 'succeeded', counted: true, now: t0 + 20, result: { status: 200, headers: [], body: Buffer.from('x') } },
          { id: a!.id, holder: me, status: 'succeeded', counted: true, now: t0 + 20, result: { status: 201, headers: ['content-type', 'text/plain'], body: Buffer.from('done') }, callbackOutcome: pending },
          { id: b!.id, holder: me, status: 'failed', counted: true, now: t0 + 30, result: { status: 500, headers: [], body: big }, error: { code: 'function-error', detail: 'the function answered 500' } },
        ]);
        assert.deepEqual(ok, [false, true, true]);
        const ea = (await s.executions.get(a!.id))!;
        assert.equal(ea.status, 'succeeded');
        assert.equal(ea.finishedAt, t0 + 20);
        assert.equal(ea.lease, null);
        assert.deepEqual(ea.result, { status: 201, headers: ['content-type', 'text/plain'], size: 4, body: Buffer.from('done') });
        assert.deepEqual(ea.callbackOutcome, pending);
        const eb = (await s.executions.get(b!.id))!;
        assert.equal(eb.result!.body, null);
        assert.equal(eb.result!.size, big.length);
        assert.deepEqual(await s.executions.resultBody(b!.id), big);
        assert.deepEqual(await s.executions.resultBody(a!.id), Buffer.from('done'));
        assert.deepEqual((await s.executions.pendingCallbacks(10)).map((e) => e.id), [a!.id]);
        await s.executions.setCallbackOutcome(a!.id, { ...pending, state: 'delivered', attempts: 1, lastStatus: 204, at: t0 + 40 });
        assert.deepEqual(await s.executions.pendingCallbacks(10), []);
        assert.equal(await s.executions.countOpen(), 0);
      }));

    it('a run begun again while running takes it over as a lost run; ended and cancelled executions are not begun', () =>
      run(async (s) => {
        const [a, b, c] = [newExec(), newExec(), newExec()];
        await s.executions.create([a!, b!, c!]);
        await s.executions.begin({ ids: [a!.id, b!.id], holder: { node: 'node-a', boot: 'old' }, now: t0 });
        await s.executions.finish([{ id: b!.id, holder: { node: 'node-a', boot: 'old' }, status: 'succeeded', counted: true, now: t0 + 1 }]);
        await s.executions.cancel(c!.id, t0 + 2, null);
        const begun = await s.executions.begin({ ids: [a!.id, b!.id, c!.id, '0'.repeat(31) + 'e'], holder: me, now: t0 + 5 });
        assert.deepEqual(begun.map((e) => [e.id, e.status, e.attempts, e.lostRuns]), [[a!.id, 'running', 0, 1]]);
        assert.deepEqual(begun[0]!.lease, me);
        assert.deepEqual(await s.executions.finish([{ id: a!.id, holder: { node: 'node-a', boot: 'old' }, status: 'succeeded', counted: true, now: t0 + 6 }]), [false], 'the old holder lost it');
      }));

    it('re-drives only a failed or timed-out execution: queued again, attempts and callback afresh', () =>
      run(async (s) => {
        const [a, b] = [newExec({ callback: { url: 'http://x.test/', taskToken: null } }), newExec()];
        await s.executions.create([a!, b!]);
        await s.executions.begin({ ids: [a!.id, b!.id], holder: me, now: t0 });
        const pending = { state: 'pending' as const, attempts: 0, lastStatus: null, lastError: null, at: null };
        await s.executions.finish([
          { id: a!.id, holder: me, status: 'timed-out', counted: true, now: t0 + 10, error: { code: 'invoke-timeout', detail: 'late' }, callbackOutcome: pending },
          { id: b!.id, holder: me, status: 'succeeded', counted: true, now: t0 + 10 },
        ]);
        await s.executions.setCallbackOutcome(a!.id, { ...pending, state: 'delivered', attempts: 1 });
        const again = (await s.executions.redrive(a!.id, t0 + 100))!;
        assert.deepEqual([again.status, again.attempts, again.finishedAt, again.notBefore, again.callbackOutcome, again.lease], ['queued', 0, null, t0 + 100, null, null]);
        assert.equal(await s.executions.redrive(a!.id, t0 + 200), undefined, 'queued: no re-drive');
        assert.equal(await s.executions.redrive(b!.id, t0 + 200), undefined, 'succeeded: no re-drive');
        assert.equal(await s.executions.countOpen(), 1);
        assert.deepEqual((await s.executions.begin({ ids: [a!.id], holder: me, now: t0 + 300 })).map((e) => e.status), ['running']);
      }));

    it('cancels only a queued execution', () =>
      run(async (s) => {
        const [a, b] = [newExec(), newExec()];
        await s.executions.create([a!, b!]);
        await s.executions.begin({ ids: [a!.id], holder: me, now: t0 + 100 });
        assert.equal((await s.executions.cancel(a!.id, t0 + 200, null))!.status, 'running');
        const cb = (await s.executions.cancel(b!.id, t0 + 200, null))!;
        assert.deepEqual([cb.status, cb.finishedAt], ['cancelled', t0 + 200]);
        assert.equal(await s.executions.cancel('0'.repeat(31) + 'f', t0, null), undefined);
      }));

    it("keeps a request's sealed credentials while it may run again, and drops them once it ended", () =>
      run(async (s) => {
        const sealed = Buffer.from('sealed bytes');
        const withCreds = (): NewExecution => {
          const e = newExec();
          return { ...e, request: { ...e.request, headers: ['x-api-key', '[redacted]'], sealedCredentials: sealed } };
        };
        const [a, b] = [withCreds(), withCreds()];
        await s.executions.create([a, b]);
        assert.deepEqual((await s.executions.get(a.id))!.request.sealedCredentials, sealed);
        const [begun] = await s.executions.begin({ ids: [a.id], holder: me, now: t0 + 10 });
        assert.deepEqual(begun!.request.sealedCredentials, sealed, 'the worker gets them when the run begins');
        // A failed run waiting for its retry still needs them.
        await s.executions.finish([{ id: a.id, holder: me, status: 'queued', counted: true, notBefore: t0, now: t0 + 20 }]);
        assert.deepEqual((await s.executions.get(a.id))!.request.sealedCredentials, sealed);
        await s.executions.begin({ ids: [a.id], holder: me, now: t0 + 30 });
        await s.executions.finish([{ id: a.id, holder: me, status: 'failed', counted: true, now: t0 + 40 }]);
        const ended = (await s.executions.get(a.id))!;
        assert.equal(ended.request.sealedCredentials ?? null, null);
        assert.deepEqual(ended.request.headers, ['x-api-key', '[redacted]']);
        await s.executions.cancel(b.id, t0 + 50, null);
        assert.equal((await s.executions.get(b.id))!.request.sealedCredentials ?? null, null);
      }));

    it('lists newest first by function, status and cursor, within the allowed functions', () =>
      run(async (s) => {
        const all = [newExec({ function: 'f1' }), newExec({ function: 'f2' }), newExec({ function: 'f1' }), newExec({ function: 'f1' })];
        await s.executions.create(all);
        await s.executions.begin({ ids: [all[0]!.id], holder: me, now: t0 + 1000 });
        const ids = (l: Array<{ id: string }>) => l.map((e) => e.id);
        assert.deepEqual(ids(await s.executions.list({ limit: 10 })), ids([...all].reverse()));
        const page1 = await s.executions.list({ function: 'f1', limit: 2 });
        assert.deepEqual(ids(page1), [all[3]!.id, all[2]!.id]);
        assert.deepEqual(ids(await s.executions.list({ function: 'f1', limit: 2, before: page1[1]!.seq })), [all[0]!.id]);
        assert.deepEqual(ids(await s.executions.list({ status: 'running', limit: 10 })), [all[0]!.id]);
        assert.deepEqual(ids(await s.executions.list({ function: 'f1', status: 'queued', limit: 10 })), [all[3]!.id, all[2]!.id]);
        assert.deepEqual(ids(await s.executions.list({ functions: ['f2'], limit: 10 })), [all[1]!.id]);
        assert.deepEqual(await s.executions.list({ functions: [], limit: 10 }), []);
      }));

    it("an execution's log lines are its function's lines with its id as request id", () =>
      run(async (s) => {
        const e = newExec();
        await s.ensureFunction(fnRecord('fn'));
        await s.executions.create([e]);
        await s.appendLogs([logLine('fn', 1, { requestId: e.id }), logLine('fn', 2), logLine('other', 3, { requestId: e.id }), logLine('fn', 4, { requestId: e.id })]);
        assert.deepEqual((await s.executions.logs('fn', e.id, 10)).map((l) => l.line), ['line 1', 'line 4']);
        assert.deepEqual((await s.executions.logs('fn', e.id, 1)).map((l) => l.line), ['line 1']);
      }));

    it('prunes what ended before the retention bound, and goes with its function', () =>
      run(async (s) => {
        const [a, b, c] = [newExec(), newExec(), newExec({ function: 'gone' })];
        await s.ensureFunction(fnRecord('gone'));
        await s.executions.create([a!, b!, c!]);
        await s.executions.cancel(a!.id, t0 + 100, null);
        assert.equal(await s.executions.prune(t0 + 50), 0);
        assert.equal(await s.executions.prune(t0 + 101), 1);
        assert.equal(await s.executions.get(a!.id), undefined);
        assert.ok(await s.executions.get(b!.id));
        await s.deleteFunction('gone');
        assert.equal(await s.executions.get(c!.id), undefined);
      }));
  });
}

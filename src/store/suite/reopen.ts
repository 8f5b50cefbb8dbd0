/** Conformance test that a store's data outlives the instance (for stores that offer `reopen`). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aliasRecord, fnRecord, logLine, tokenRecord, versionRecord, withStore, type OpenStore } from './fixtures.js';

export function reopenTests(open: OpenStore): void {
  const run = withStore(open);

  describe('reopen', () => {
    it('a reopened store answers everything written before close', () =>
      run(async (s, harness) => {
        if (!harness.reopen) return;
        const f = fnRecord('f');
        const v1 = versionRecord('f', 'v1', 1);
        const v2 = versionRecord('f', 'v2', 2);
        const alias = aliasRecord('f', 'prod', { target: { weights: { v1: 1, v2: 3 } } });
        const token = tokenRecord('a');
        await s.ensureFunction(f);
        await s.createVersion(v1);
        await s.createVersion(v2);
        await s.deleteVersion('f', 'v2');
        await s.putAlias(alias);
        await s.tokens.create(token);
        await s.appendLogs([logLine('f', 1), logLine('f', 2)]);
        const logs = await s.queryLogs('f', { limit: 10 });
        await s.close();

        const again = await harness.reopen();
        assert.deepEqual(await again.listFunctions(), [f]);
        assert.deepEqual(await again.listVersions('f'), [v1]);
        assert.equal(await again.lastVersionSeq('f'), 2, 'the seq counter survives too');
        assert.deepEqual(await again.listAliases('f'), [alias]);
        assert.deepEqual(await again.tokens.findByHash(token.hash), token);
        assert.deepEqual(await again.queryLogs('f', { limit: 10 }), logs);
        await again.appendLogs([logLine('f', 3)]);
        const [last] = await again.queryLogs('f', { limit: 1 });
        assert.ok(last!.id > logs.at(-1)!.id, 'log ids continue after reopen');
      }));
  });
}

/**
 * `POST /v1/run` streamed: a command that is not found ends its stderr with a clear line, as
 * the answer without stream says it; the sandbox's own exec line does not reach the caller,
 * while a command that prints a line like it keeps its output. `ferry run` says it once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disposeFerry, startFerry, type Ferry } from './support/ferry.js';
import { runCli } from './support/helpers.js';

interface Streamed {
  stdout: string;
  stderr: string;
  last: Record<string, unknown>;
}

async function streamed(f: Ferry, command: string[]): Promise<Streamed> {
  const res = await f.api('POST', '/v1/run', { command, stream: true });
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | number | null>);
  const text = (k: 'stdout' | 'stderr'): string => lines.filter((l) => k in l).map((l) => Buffer.from(l[k] as string, 'base64').toString()).join('');
  return { stdout: text('stdout'), stderr: text('stderr'), last: lines.at(-1)! };
}

test('POST /v1/run streamed: a command not found ends with a line on stderr', async (t) => {
  const f = await startFerry({ args: ['--allow-run'] });
  t.after(() => disposeFerry(f));

  const missing = await streamed(f, ['no-such-command-here', '-x']);
  assert.equal(missing.stdout, '');
  assert.equal(missing.stderr, 'command not found: no-such-command-here\n');
  assert.deepEqual(missing.last, { exitCode: null, error: 'command not found: no-such-command-here' });

  // The same words the answer without stream gives.
  const plain = (await (await f.api('POST', '/v1/run', { command: ['no-such-command-here'] })).json()) as { error: string; stderr: string };
  assert.equal(plain.error, missing.last.error);

  // A command whose first line only looks like the sandbox's keeps its output, in order.
  const lookalike = 'x: cannot run sh: No such file or directory';
  const kept = await streamed(f, ['sh', '-c', `echo '${lookalike}' >&2; echo after >&2; echo out`]);
  assert.equal(kept.stderr, `${lookalike}\nafter\n`);
  assert.equal(kept.stdout, 'out\n');
  assert.deepEqual(kept.last, { exitCode: 0, error: null });

  const cli = await runCli(['run', '--', 'no-such-command-here'], { env: { FERRY_URL: f.url, FERRY_TOKEN: f.token } });
  assert.equal(cli.code, 127);
  assert.equal(cli.stderr, 'command not found: no-such-command-here\n', 'said once');
});

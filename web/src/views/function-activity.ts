import { call, eachLine, enc, get, send } from '../api.js';
import { badge, bytes, h, ms, table, when } from '../dom.js';
import { attempt } from '../notice.js';
import { section } from '../section.js';
import type { Execution, Instance, Invocation, LogLine } from '../types.js';

/** Running instances, redrawn every few seconds while the page shows them. */
export function instancesSection(name: string, signal: AbortSignal): ReturnType<typeof section> {
  const s = section('Instances', async () => {
    const { instances } = await get<{ instances: Instance[] }>(`/v1/functions/${enc(name)}/instances`);
    return table('Live: redrawn every 3 seconds', ['Instance', 'Version', 'State', 'Since', 'In flight', 'Served', 'Memory', 'Start'], instances.map((i) => [i.id, i.version, badge(i.state), when(new Date(i.startedAt).toISOString()), String(i.inFlight), String(i.served), i.memoryBytes === null ? '–' : bytes(i.memoryBytes), i.origin ?? '–']), 'None running (scaled to zero).', [4, 5, 6]);
  });
  const timer = setInterval(() => void s.refresh(), 3000);
  signal.addEventListener('abort', () => clearInterval(timer));
  return s;
}

/** The latest calls, sync and async, with status and latency. */
export function historySection(name: string): ReturnType<typeof section> {
  const s = section('Invocation history', async () => {
    const { invocations } = await get<{ invocations: Invocation[] }>(`/v1/invocations?function=${enc(name)}&limit=25`);
    return [
      h('button', { type: 'button', class: 'secondary', onclick: () => void s.refresh() }, 'Refresh history'),
      table('The 25 latest calls', ['Time', 'Version', 'Kind', 'Request', 'Status', 'Latency'], invocations.map((i) => [when(i.time), i.version, i.kind, `${i.method ?? ''} ${i.path ?? ''}`, String(i.status), ms(i.durationMs)]), 'No calls yet.', [4, 5]),
    ];
  });
  return s;
}

/** The function's log: the latest lines, and with Follow, new ones as they are written. */
export function logsSection(name: string, signal: AbortSignal): ReturnType<typeof section> {
  const out = h('pre', { class: 'log', 'aria-label': `Log of ${name}`, tabindex: 0 });
  let following: AbortController | undefined;
  const write = (value: unknown): void => {
    const l = value as LogLine;
    const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    out.append(`${new Date(l.time).toLocaleTimeString()} ${l.version} ${l.stream}: ${l.line}\n`);
    if (atEnd) out.scrollTop = out.scrollHeight;
  };
  const button = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Follow');
  const stop = (): void => {
    following?.abort();
    following = undefined;
    button.textContent = 'Follow';
    button.setAttribute('aria-pressed', 'false');
  };
  button.addEventListener('click', () => {
    if (following) return stop();
    const controller = (following = new AbortController());
    signal.addEventListener('abort', () => controller.abort());
    button.textContent = 'Stop following';
    button.setAttribute('aria-pressed', 'true');
    out.replaceChildren();
    void attempt(async () => {
      try {
        const res = await call('GET', `/v1/functions/${enc(name)}/logs?follow=1&limit=50`, { signal: controller.signal });
        await eachLine(res, write);
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      }
    });
  });
  return section('Logs', async () => {
    const res = await call('GET', `/v1/functions/${enc(name)}/logs?limit=50`);
    out.replaceChildren();
    await eachLine(res, write);
    return [h('p', null, button), out];
  });
}

/** An execution that failed for good (a dead letter) can run again, its retries afresh. */
const retriable = (status: string): boolean => status === 'failed' || status === 'timed-out';

/** Asynchronous executions with their results and attempts; a failed one can be retried (re-driven). */
export function executionsSection(name: string): ReturnType<typeof section> {
  const detail = h('pre', { class: 'code', hidden: true, 'aria-live': 'polite' });
  const show = (id: string): Promise<boolean> =>
    attempt(async () => {
      const e = await get<Record<string, unknown>>(`/v1/executions/${enc(id)}`);
      detail.textContent = JSON.stringify({ id: e.id, status: e.status, attempts: e.attempts, timings: e.timings, result: e.result, error: e.error, logs: e.logs }, null, 2);
      detail.hidden = false;
    });
  const s = section('Executions', async () => {
    const { executions } = await get<{ executions: Execution[] }>(`/v1/executions?function=${enc(name)}&limit=25`);
    return [
      h('button', { type: 'button', class: 'secondary', onclick: () => void s.refresh() }, 'Refresh executions'),
      table('The 25 latest executions', ['Execution', 'Version', 'Status', 'Result', 'Attempts', 'Created', 'Finished', ''], executions.map((e) => [
        h('button', { type: 'button', class: 'link', 'aria-label': `Details of execution ${e.id}`, onclick: () => void show(e.id) }, e.id), e.version, badge(e.status), e.resultStatus === null ? '–' : String(e.resultStatus), String(e.attempts), when(e.createdAt), when(e.finishedAt),
        retriable(e.status) ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Retry execution ${e.id}`, onclick: () => void attempt(() => send('POST', `/v1/executions/${enc(e.id)}/redrive`), `execution ${e.id} queued again`, () => s.refresh()) }, 'Retry') : '',
      ]), 'No executions yet.', [4]),
      detail,
    ];
  });
  return s;
}

import { enc, get, send } from '../api.js';
import { field, h, table, when } from '../dom.js';
import { attempt } from '../notice.js';
import { section } from '../section.js';

interface ObjectMeta { key: string; size: number; contentType: string; updatedAt: string }
interface Schedule { id: string; cron: string; timezone: string | null; nextRun: string | null; lastRun: string | null; createdBy: string }

/** The function's stored objects (the first page), each removable. */
export function objectsSection(name: string): ReturnType<typeof section> {
  const base = `/v1/functions/${enc(name)}/objects`;
  const s = section('Objects', async () => {
    const { objects } = await get<{ objects: ObjectMeta[] }>(`${base}?limit=100`);
    return table('The first 100 objects', ['Key', 'Size', 'Type', 'Updated', ''], objects.map((o) => [
      o.key, `${o.size} B`, o.contentType, when(o.updatedAt),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete object ${o.key}`, onclick: () => {
        if (confirm(`Delete object ${o.key}?`)) void attempt(() => send('DELETE', `${base}/${o.key.split('/').map(enc).join('/')}`), `object ${o.key} deleted`, () => s.refresh());
      } }, 'Delete'),
    ]), 'No objects.', [1]);
  });
  return s;
}

/** Cron schedules that create executions: list, add or replace, delete. */
export function schedulesSection(name: string): ReturnType<typeof section> {
  const base = `/v1/functions/${enc(name)}/schedules`;
  const s = section('Schedules', async () => {
    const { schedules } = await get<{ schedules: Schedule[] }>(base);
    const id = h('input', { type: 'text', required: true });
    const cron = h('input', { type: 'text', required: true, placeholder: '*/5 * * * *' });
    return [
      table('Schedules', ['Id', 'Cron', 'Next run', 'Last run', 'By', ''], schedules.map((x) => [
        x.id, `${x.cron}${x.timezone ? ` (${x.timezone})` : ''}`, when(x.nextRun), when(x.lastRun), x.createdBy,
        h('button', { type: 'button', class: 'danger', 'aria-label': `Delete schedule ${x.id}`, onclick: () => void attempt(() => send('DELETE', `${base}/${enc(x.id)}`), `schedule ${x.id} deleted`, () => s.refresh()) }, 'Delete'),
      ]), 'No schedules.'),
      h('form', { class: 'inline', 'aria-label': 'Add a schedule', onsubmit: (e: Event) => {
        e.preventDefault();
        void attempt(() => send('PUT', `${base}/${enc(id.value)}`, { cron: cron.value }), `schedule ${id.value} saved`, () => s.refresh());
      } }, field('Schedule id', id), field('Cron expression', cron), h('button', { type: 'submit' }, 'Save schedule')),
    ];
  });
  return s;
}

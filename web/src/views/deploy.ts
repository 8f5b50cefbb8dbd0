import { call, eachLine, enc, problemOf } from '../api.js';
import { field, h } from '../dom.js';
import { showError, status } from '../notice.js';
import type { ViewContext } from '../view.js';

/** The archive's Content-Type, from its name (the server checks its bytes in any case). */
function typeOf(file: File): string {
  if (/\.zip$/i.test(file.name)) return 'application/zip';
  if (/\.(tgz|tar\.gz)$/i.test(file.name)) return 'application/gzip';
  if (/\.tar$/i.test(file.name)) return 'application/x-tar';
  return file.type || 'application/octet-stream';
}

/**
 * Deploy by dropping a zip or tarball (or choosing one), or by naming a registry image: the
 * upload asks for the build's progress (NDJSON), so build and pull lines show as the server
 * writes them.
 */
export async function deployView(ctx: ViewContext): Promise<void> {
  const name = h('input', { type: 'text', required: true, pattern: '[a-z0-9][a-z0-9-]{0,62}', autocomplete: 'off' });
  const group = h('input', { type: 'text', placeholder: 'default: your own', autocomplete: 'off' });
  const file = h('input', { type: 'file', accept: '.zip,.tar,.tgz,.tar.gz,application/zip,application/gzip,application/x-tar' });
  const progress = h('pre', { class: 'log', 'aria-live': 'polite', 'aria-label': 'Build progress' });
  const drop = h('div', { class: 'drop', 'aria-hidden': 'true' }, 'Drop a .zip, .tar or .tar.gz here');
  let chosen: File | undefined;
  const pick = (f: File | undefined): void => {
    chosen = f;
    drop.textContent = f ? `Ready: ${f.name} (${f.size < 10_240 ? `${f.size} B` : `${Math.round(f.size / 1024)} KiB`})` : 'Drop a .zip, .tar or .tar.gz here';
  };
  file.addEventListener('change', () => pick(file.files?.[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    pick(e.dataTransfer?.files[0]);
  });
  const image = h('textarea', { rows: 4, placeholder: '{"runtime": "http", "image": {"ref": "registry.example.com/team/app:1"}}' });
  /** An archive dropped or chosen, else a registry image's ferry.json (the server pulls it). */
  const deploy = async (): Promise<void> => {
    if (!chosen && !image.value.trim()) throw new Error('choose or drop an archive, or give a registry image\'s ferry.json');
    progress.replaceChildren();
    const line = (text: string): void => void progress.append(`${text}\n`);
    line(chosen ? `uploading ${chosen.name}…` : 'asking the server to pull the image…');
    const query = group.value ? `?group=${enc(group.value)}` : '';
    const body = chosen ? { body: chosen, type: typeOf(chosen) } : { body: image.value, type: 'application/json' };
    const res = await call('POST', `/v1/functions/${enc(name.value)}/versions${query}`, { body: body.body, headers: { 'content-type': body.type, accept: 'application/x-ndjson' } });
    if (res.status === 201) {
      const v = (await res.json()) as { version: string };
      return done(v.version);
    }
    let outcome: { status?: number; version?: { version: string }; problem?: { detail?: string; code?: string } } = {};
    await eachLine(res, (value) => {
      const v = value as typeof outcome & { log?: string };
      if (v.log !== undefined) line(v.log);
      else outcome = v;
    });
    if (outcome.version) return done(outcome.version.version);
    if (outcome.problem) throw await problemOf(new Response(JSON.stringify(outcome.problem), { status: outcome.status ?? 500 }));
    throw new Error('the upload ended without an outcome');
  };
  const done = (version: string): void => {
    progress.append(`deployed ${name.value} ${version}\n`);
    status(`Deployed ${name.value} ${version}`);
    location.hash = `#/functions/${enc(name.value)}`;
  };
  ctx.main.replaceChildren(
    h('h1', null, 'Deploy a function'),
    h('p', { class: 'muted' }, 'A package with its ferry.json, as `ferry deploy` sends it. A new name creates the function; an existing one gets its next version.'),
    h('form', { onsubmit: (e: Event) => {
      e.preventDefault();
      void deploy().catch(showError);
    } }, field('Function name', name), field('Owning group (a new function only)', group), drop, field('Archive', file), field('Or a registry image: its ferry.json, naming image.ref', image), h('p', null, h('button', { type: 'submit' }, 'Deploy'))),
    h('h2', null, 'Build progress'),
    progress,
  );
}

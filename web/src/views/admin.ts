import { enc, get, send } from '../api.js';
import { field, h, table, when } from '../dom.js';
import { attempt } from '../notice.js';
import { section } from '../section.js';
import { isAdmin } from '../session.js';
import type { ViewContext } from '../view.js';

interface User { name: string; groups: string[]; hasPassword: boolean; createdAt: string }
interface Token { id: string; prefix: string; user: string; label: string | null; createdAt: string; expiresAt: string | null; revokedAt: string | null }
interface Secret { name: string; group: string; createdAt?: string; updatedAt?: string }

const groupsOf = (text: string): string[] => text.split(',').map((g) => g.trim()).filter(Boolean);

/** Users and, from their memberships, the groups (admins only: the API says so too). */
export async function usersView(ctx: ViewContext): Promise<void> {
  const users = section('Users', async () => {
    const list = (await get<{ users: User[] }>('/v1/users')).users;
    return table('Every user', ['User', 'Groups', 'Password', 'Created', 'Groups (comma-separated)', ''], list.map((u) => {
      const groups = h('input', { type: 'text', value: u.groups.filter((g) => g !== `singular:${u.name}`).join(', '), 'aria-label': `Groups of ${u.name}` });
      return [
        u.name, u.groups.join(', '), u.hasPassword ? 'set' : 'none', when(u.createdAt),
        h('form', { class: 'inline', onsubmit: (e: Event) => {
          e.preventDefault();
          void attempt(() => send('PATCH', `/v1/users/${enc(u.name)}`, { groups: groupsOf(groups.value) }), `groups of ${u.name} saved`, () => users.refresh());
        } }, groups, h('button', { type: 'submit', class: 'secondary' }, 'Save')),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Delete user ${u.name}`, onclick: () => {
          if (confirm(`Delete user ${u.name} and revoke their tokens?`)) void attempt(() => send('DELETE', `/v1/users/${enc(u.name)}`), `user ${u.name} deleted`, () => users.refresh());
        } }, 'Delete'),
      ];
    }));
  });
  const groups = section('Groups', async () => {
    const members = new Map<string, string[]>();
    for (const u of (await get<{ users: User[] }>('/v1/users')).users) for (const g of u.groups) members.set(g, [...(members.get(g) ?? []), u.name]);
    return table('Groups and their members', ['Group', 'Members'], [...members].sort().map(([g, m]) => [g, m.join(', ')]));
  });
  const name = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const password = h('input', { type: 'password', autocomplete: 'new-password' });
  const newGroups = h('input', { type: 'text', placeholder: 'permission:read, custom:team' });
  ctx.main.replaceChildren(
    h('h1', null, 'Users and groups'),
    users.el,
    h('form', { class: 'inline', 'aria-label': 'Create a user', onsubmit: (e: Event) => {
      e.preventDefault();
      const body = { name: name.value, ...(password.value ? { password: password.value } : {}), ...(newGroups.value ? { groups: groupsOf(newGroups.value) } : {}) };
      void attempt(() => send('POST', '/v1/users', body), `user ${name.value} created`, () => Promise.all([users.refresh(), groups.refresh()]));
    } }, field('New user', name), field('Password', password), field('Groups', newGroups), h('button', { type: 'submit' }, 'Create user')),
    groups.el,
  );
}

/** API tokens: your own (everyone's for admins), create one (shown once), revoke. */
export async function tokensView(ctx: ViewContext): Promise<void> {
  const shown = h('div', { 'aria-live': 'polite' });
  const tokens = section('API tokens', async () => {
    const list = (await get<{ tokens: Token[] }>(`/v1/tokens${isAdmin() ? '?all=true' : ''}`)).tokens;
    return table(isAdmin() ? "Everyone's tokens" : 'Your tokens', ['Prefix', 'User', 'Label', 'Created', 'Expires', 'Revoked', ''], list.map((t) => [
      t.prefix, t.user, t.label ?? '–', when(t.createdAt), when(t.expiresAt), when(t.revokedAt),
      t.revokedAt ? '' : h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke token ${t.prefix}`, onclick: () => void attempt(() => send('DELETE', `/v1/tokens/${enc(t.id)}`), `token ${t.prefix} revoked`, () => tokens.refresh()) }, 'Revoke'),
    ]));
  });
  const label = h('input', { type: 'text' });
  const days = h('input', { type: 'number', min: 1, value: 30 });
  ctx.main.replaceChildren(
    h('h1', null, 'Tokens'),
    h('form', { class: 'inline', 'aria-label': 'Create a token', onsubmit: (e: Event) => {
      e.preventDefault();
      void attempt(async () => {
        const t = (await send<{ token: string }>('POST', '/v1/tokens', { days: Number(days.value), ...(label.value ? { label: label.value } : {}) }))!;
        shown.replaceChildren(h('div', { class: 'card' }, h('p', null, 'The new token, shown this once: copy it now.'), h('pre', { class: 'code' }, t.token)));
        await tokens.refresh();
      }, 'token created');
    } }, field('Label', label), field('Days valid', days), h('button', { type: 'submit' }, 'Create token')),
    shown,
    tokens.el,
  );
}

/** Secrets by name: values go in and are never shown again. */
export async function secretsView(ctx: ViewContext): Promise<void> {
  const secrets = section('Secrets', async () => {
    const list = (await get<{ secrets: Secret[] }>('/v1/secrets')).secrets;
    return table('Names only: a value is never sent back', ['Name', 'Group', 'Updated', ''], list.map((x) => [
      x.name, x.group, when(x.updatedAt ?? x.createdAt),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete secret ${x.name}`, onclick: () => {
        if (confirm(`Delete secret ${x.name}?`)) void attempt(() => send('DELETE', `/v1/secrets/${enc(x.name)}?group=${enc(x.group)}`), `secret ${x.name} deleted`, () => secrets.refresh());
      } }, 'Delete'),
    ]));
  });
  const name = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const value = h('input', { type: 'password', required: true, autocomplete: 'off' });
  const group = h('input', { type: 'text', placeholder: 'default: yours' });
  ctx.main.replaceChildren(
    h('h1', null, 'Secrets'),
    h('form', { class: 'inline', 'aria-label': 'Set a secret', onsubmit: (e: Event) => {
      e.preventDefault();
      const q = group.value ? `?group=${enc(group.value)}` : '';
      void attempt(() => send('PUT', `/v1/secrets/${enc(name.value)}${q}`, { value: value.value }), `secret ${name.value} set`).then((ok) => {
        value.value = '';
        if (ok) void secrets.refresh();
      });
    } }, field('Name', name), field('Value (write-only)', value), field('Group', group), h('button', { type: 'submit' }, 'Set secret')),
    secrets.el,
  );
}

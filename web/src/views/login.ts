import { h, field } from '../dom.js';
import { attempt } from '../notice.js';
import { login } from '../session.js';
import type { ViewContext } from '../view.js';

/** Log in with a name and password, or with an API token: either becomes a cookie session. */
export async function loginView(ctx: ViewContext, done: () => void): Promise<void> {
  const name = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true });
  const byPassword = h('form', { 'aria-label': 'Log in with a password', onsubmit: (e: Event) => {
    e.preventDefault();
    void attempt(() => login({ name: name.value, password: password.value }), undefined, done);
  } }, field('User name', name), field('Password', password), h('p', null, h('button', { type: 'submit' }, 'Log in')));
  const byToken = h('form', { 'aria-label': 'Log in with a token', onsubmit: (e: Event) => {
    e.preventDefault();
    void attempt(() => login({ token: token.value.trim() }), undefined, done);
  } }, field('API token', token), h('p', null, h('button', { type: 'submit', class: 'secondary' }, 'Log in with the token')));
  ctx.main.replaceChildren(
    h('div', { class: 'login card' },
      h('h1', null, 'Log in to Ferry'),
      byPassword,
      h('h2', null, 'Or with an API token'),
      h('p', { class: 'muted' }, 'The token stays on the server: the page holds only a session cookie it cannot read.'),
      byToken),
  );
  name.focus();
}

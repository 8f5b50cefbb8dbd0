import { whenSignedOut } from './api.js';
import { showError, status } from './notice.js';
import { h } from './dom.js';
import { forget, isAdmin, logout, resume, session } from './session.js';
import { loginView } from './views/login.js';
import { functionsView } from './views/functions.js';
import { functionView } from './views/function.js';
import { deployView } from './views/deploy.js';
import { usersView, tokensView, secretsView } from './views/admin.js';

import type { ViewContext } from './view.js';

type View = (ctx: ViewContext) => Promise<void>;

/** Hash routes (`#/functions/hello`): the server serves one page, and a reload keeps the view. */
const routes: Array<{ pattern: RegExp; view: View; nav?: string; admin?: boolean }> = [
  { pattern: /^\/functions$/, view: functionsView, nav: 'Functions' },
  { pattern: /^\/functions\/([^/]+)$/, view: functionView },
  { pattern: /^\/deploy$/, view: deployView, nav: 'Deploy' },
  { pattern: /^\/users$/, view: usersView, nav: 'Users & groups', admin: true },
  { pattern: /^\/tokens$/, view: tokensView, nav: 'Tokens' },
  { pattern: /^\/secrets$/, view: secretsView, nav: 'Secrets' },
];

const main = document.getElementById('main')!;
let current: AbortController | undefined;

function drawChrome(path: string): void {
  const nav = document.getElementById('nav')!;
  const who = document.getElementById('who')!;
  const s = session();
  if (!s) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  nav.replaceChildren(
    h('ul', null, routes.filter((r) => r.nav && (!r.admin || isAdmin())).map((r) => {
      const href = `#${r.pattern.source.replace(/^\^|\$$/g, '').replace(/\\\//g, '/')}`;
      return h('li', null, h('a', { href, 'aria-current': path.startsWith(href.slice(1)) ? 'page' : undefined }, r.nav!));
    })),
  );
  who.replaceChildren(
    h('span', null, `Signed in as ${s.user}`),
    h('button', { class: 'secondary', type: 'button', onclick: () => void logout().finally(() => render()) }, 'Log out'),
  );
}

/** Draws the view of the current hash; a new view aborts the last one's streams (logs that follow). */
export async function render(): Promise<void> {
  current?.abort();
  const controller = (current = new AbortController());
  const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/functions';
  status('');
  if (!session()) {
    drawChrome(raw);
    main.replaceChildren();
    await loginView({ main, signal: controller.signal, params: [] }, () => render());
    return;
  }
  drawChrome(raw);
  const route = routes.find((r) => r.pattern.test(raw)) ?? routes[0]!;
  const params = (route.pattern.exec(raw) ?? []).slice(1).map((p) => decodeURIComponent(p));
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const view = h('div');
    await route.view({ main: view, signal: controller.signal, params });
    if (controller.signal.aborted) return;
    main.replaceChildren(view);
    // A new view is announced: focus moves to its heading, as after a page load.
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  } catch (err) {
    if (controller.signal.aborted) return;
    main.replaceChildren(h('h1', null, 'Something went wrong'));
    showError(err);
  }
}

whenSignedOut(() => {
  if (!session()) return;
  forget();
  void render().then(() => status('Your session has ended: log in again.', 'error'));
});

window.addEventListener('hashchange', (e) => {
  if (!new URL(e.newURL).hash.startsWith('#/')) return;
  void render();
});
document.getElementById('skip')!.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

// A session check that fails (the server restarting, a proxy's error page) still leaves the
// login form on the page, with the failure said above it.
void resume().then(
  () => render(),
  (err: unknown) => render().then(() => showError(err)),
);

import type { SurfaceFactory } from './surface.js';
import { hostSurface } from './host/host-surface.js';
import { fnSurface } from './fn/fn-surface.js';
import { v1Surface } from './v1/v1-surface.js';
import { uiSurface } from './ui/ui-surface.js';

/** A compat surface: its code loads only when `--compat` names its system (an idle server stays lean). */
const compat = (system: string, load: () => Promise<SurfaceFactory>): SurfaceFactory => (ctx) => (ctx.options.compat.includes(system) ? load().then((make) => make(ctx)) : undefined);

/**
 * Every HTTP surface by name, in the order a listener asks them whether a request is theirs
 * (host-routed ones first in any case). A new surface is a folder plus one line here; where it
 * listens is `--surface-listen name=address:port` (default: the main listener).
 */
export const surfaces: ReadonlyMap<string, SurfaceFactory> = new Map<string, SurfaceFactory>([
  ['host', hostSurface],
  ['fn', fnSurface],
  ['v1', v1Surface],
  ['tinyfaas', compat('tinyfaas', async () => (await import('./tinyfaas/management-surface.js')).tinyfaasSurface)],
  ['tinyfaas-http', compat('tinyfaas', async () => (await import('./tinyfaas/http-surface.js')).tinyfaasHttpSurface)],
  ['shortedfaas', compat('shortedfaas', async () => (await import('./shortedfaas/shorted-surface.js')).shortedfaasSurface)],
  ['yfass', compat('yfass', async () => (await import('./yfass/yfass-surface.js')).yfassSurface)],
  ['tangle', compat('tangle', async () => (await import('./tangle/tangle-surface.js')).tangleSurface)],
  ['seed003', compat('seed003', async () => (await import('./seed003/seed003-surface.js')).seed003Surface)],
  ['ui', uiSurface],
]);

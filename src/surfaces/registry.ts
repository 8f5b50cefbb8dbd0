import type { SurfaceFactory } from './surface.js';
import { hostSurface } from './host/host-surface.js';
import { fnSurface } from './fn/fn-surface.js';
import { v1Surface } from './v1/v1-surface.js';
import { tinyfaasSurface } from './tinyfaas/management-surface.js';
import { tinyfaasHttpSurface } from './tinyfaas/http-surface.js';
import { shortedfaasSurface } from './shortedfaas/shorted-surface.js';
import { yfassSurface } from './yfass/yfass-surface.js';
import { tangleSurface } from './tangle/tangle-surface.js';
import { uiSurface } from './ui/ui-surface.js';

/**
 * Every HTTP surface by name, in the order a listener asks them whether a request is theirs
 * (host-routed ones first in any case). A new surface is a folder plus one line here; where it
 * listens is `--surface-listen name=address:port` (default: the main listener).
 */
export const surfaces: ReadonlyMap<string, SurfaceFactory> = new Map<string, SurfaceFactory>([
  ['host', hostSurface],
  ['fn', fnSurface],
  ['v1', v1Surface],
  ['tinyfaas', tinyfaasSurface],
  ['tinyfaas-http', tinyfaasHttpSurface],
  ['shortedfaas', shortedfaasSurface],
  ['yfass', yfassSurface],
  ['tangle', tangleSurface],
  ['ui', uiSurface],
]);

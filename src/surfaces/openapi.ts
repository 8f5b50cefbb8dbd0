import { openApiDocument } from '../api/index.js';
import type { HttpSurface } from './surface.js';

/**
 * The OpenAPI document of every HTTP surface that is on: each operation says its surface
 * (`x-ferry-surface`) and, for a surface on a listener of its own, where that is (`servers`).
 * A path two surfaces on different listeners both serve is documented once, the first's.
 */
export function surfacesDocument(mounted: ReadonlyArray<{ surface: HttpSurface; url: string | undefined }>, version: string): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { surface, url } of mounted) {
    for (const [path, item] of Object.entries(surface.operations())) {
      const into = (paths[path] ??= {});
      for (const [method, op] of Object.entries(item)) {
        if (into[method]) continue;
        into[method] = { ...op, 'x-ferry-surface': surface.name, ...(url && !op.servers ? { servers: [{ url }] } : {}) };
      }
    }
  }
  return openApiDocument(paths, version);
}

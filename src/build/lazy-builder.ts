/**
 * The dependency builder, loaded by the first deploy that may need a build: its planners, cache
 * and build sandbox are a dozen modules an idle server has no use for. The settings are checked
 * at once, so a bad source still stops the start.
 */
import { rm } from 'node:fs/promises';
import type { BuildContext } from '../core/index.js';
import type { DependencyBuilder, DependencyBuilderOptions } from './dependency-builder.js';
import { buildWorkRoot } from './paths.js';
import { checkSources } from './sources.js';

export class LazyDependencyBuilder {
  private loaded?: Promise<DependencyBuilder>;

  constructor(private readonly o: DependencyBuilderOptions) {
    checkSources(o.sources, o.allowHostNetwork);
  }

  /** Removes work dirs a killed server left behind. */
  async cleanup(): Promise<void> {
    await rm(buildWorkRoot(this.o.dataDir), { recursive: true, force: true });
  }

  /** The build step of a deploy (see `DependencyBuilder.build`). */
  async build(ctx: BuildContext): Promise<void> {
    this.loaded ??= import('./dependency-builder.js').then((m) => new m.DependencyBuilder(this.o));
    return (await this.loaded).build(ctx);
  }
}

/**
 * How V8 runs while `ferry server` starts, so that a server at rest keeps no more than it needs
 * (docs/performance.md, "Idle cost"). Both settings end once the server listens, so a server
 * under load runs as V8 would run it otherwise.
 *
 * - The young generation keeps its first size. Nearly everything the start allocates is kept
 *   (modules, stores, the catalog); for that V8 would double the young generation twice, to
 *   8 MB, and keep it: ~5 MB resident at rest.
 * - No optimizing or baseline compiler. The start runs Node's module loader a few hundred times,
 *   enough for V8 to optimize a dozen of its functions; the first optimization brings TurboFan's
 *   own code and working memory into the process: ~4 MB, for code a server at rest never runs
 *   again. Whatever the calls make hot afterwards is optimized as usual.
 *
 * A setting the user gave V8 (`node --no-opt ...`, `NODE_OPTIONS`) is left alone.
 */
import { setFlagsFromString } from 'node:v8';

interface LeanSetting {
  /** The V8 flag names that set it. */
  names: string[];
  during: string;
  /** V8's default (`node --v8-options`). */
  after: string;
}

const settings: LeanSetting[] = [
  // V8 reads the factor at each growth of the young generation.
  { names: ['semi-space-growth-factor'], during: '--semi-space-growth-factor=1', after: '--semi-space-growth-factor=2' },
  { names: ['turbofan', 'opt'], during: '--no-turbofan', after: '--turbofan' },
  { names: ['sparkplug'], during: '--no-sparkplug', after: '--sparkplug' },
];

function givenByUser(s: LeanSetting): boolean {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return given.some((arg) => s.names.some((name) => new RegExp(`^--(no-)?${name}(=|$)`).test(arg.replace(/_/g, '-'))));
}

/** From here on: no young-generation growth, no tiering up. */
export function beginLeanStart(): void {
  for (const s of settings) if (!givenByUser(s)) setFlagsFromString(s.during);
}

/** V8's own settings again. */
export function endLeanStart(): void {
  for (const s of settings) if (!givenByUser(s)) setFlagsFromString(s.after);
}

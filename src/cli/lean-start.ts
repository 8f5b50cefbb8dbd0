/**
 * How V8 runs while `ferry server` starts, so that a server at rest keeps no more than it needs
 * (docs/performance.md, "Idle cost"): no optimizing and no baseline compiler until the server
 * listens. The start runs Node's module loader a few hundred times, enough for V8 to optimize a
 * dozen of its functions; the first optimization brings TurboFan's own code and working memory
 * into the process (~4 MB resident), for code a server at rest never runs again. Once the server
 * listens both compilers are on as V8 has them, and whatever the calls make hot is optimized as
 * usual (warm throughput measured unchanged).
 *
 * Holding the young generation at its first size during the start as well would keep ~2.5 MB more
 * out, but it cost a third of the warm throughput (docs/performance.md): it is not done.
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
  { names: ['turbofan', 'opt'], during: '--no-turbofan', after: '--turbofan' },
  { names: ['sparkplug'], during: '--no-sparkplug', after: '--sparkplug' },
];

function givenByUser(s: LeanSetting): boolean {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return given.some((arg) => s.names.some((name) => new RegExp(`^--(no-)?${name}(=|$)`).test(arg.replace(/_/g, '-'))));
}

/** From here on: no tiering up. */
export function beginLeanStart(): void {
  for (const s of settings) if (!givenByUser(s)) setFlagsFromString(s.during);
}

/** V8's own settings again. */
export function endLeanStart(): void {
  for (const s of settings) if (!givenByUser(s)) setFlagsFromString(s.after);
}

// One wrk run of bench/warm.mjs with the body-checking script (bench/wrk/checked.lua): req/s,
// latency percentiles, errors, how many bodies were checked and how many were wrong, and the CPU
// wrk itself used (a load generator near 100 % of its core limits what the row can show).
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { CLK_TCK, cpuTicks, startLoad } from './host.mjs';

const script = fileURLToPath(new URL('../wrk/checked.lua', import.meta.url));

function ms(s) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s ?? '');
  if (!m) return NaN;
  const v = Number(m[1]);
  return { us: v / 1000, ms: v, s: v * 1000, m: v * 60_000 }[m[2]];
}

/** wrk's report and the script's body-check lines as numbers. */
export function parseWrk(out) {
  const g = (re) => re.exec(out)?.[1];
  const r = { rps: Number(g(/Requests\/sec:\s+([\d.]+)/)), requests: Number(g(/(\d+) requests in/)) };
  for (const q of ['50', '75', '90', '99']) r[`p${q}`] = ms(g(new RegExp(`^\\s+${q}%\\s+(\\S+)`, 'm')));
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  r.socketErrors = se ? se.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0;
  r.non2xx = Number(g(/Non-2xx or 3xx responses: (\d+)/) ?? 0);
  const check = /body-check: checked (\d+) mismatched (\d+)/.exec(out);
  r.checked = check ? Number(check[1]) : NaN;
  r.mismatched = check ? Number(check[2]) : NaN;
  r.firstMismatch = g(/body-check first mismatch: (.*)/) ?? null;
  return r;
}

/**
 * Runs wrk against `row` on `port` for `secs` s. The body is checked against `expectFile` (or by
 * name, for rows whose answer greets the request's X-Name, or echoes a body naming it); a rotating
 * path for spread rows.
 */
export async function runWrk({ port, row, secs, expectFile, connections, threads, cpus }) {
  const check = row.echo ? 'echo' : row.byName ? 'name' : expectFile;
  const spread = row.spread ? [row.spread.prefix, String(row.spread.count)] : [];
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${secs}s`, '--latency', '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}${row.path}`, '--', check, ...spread];
  const { child, output } = startLoad('wrk', args, cpus);
  // wrk's CPU, sampled until it ends (its /proc entry goes with it)
  const t0 = performance.now();
  let cpu = { ticks: 0, s: 0 };
  const poll = setInterval(() => {
    const ticks = cpuTicks([child.pid]);
    if (ticks > 0) cpu = { ticks, s: (performance.now() - t0) / 1000 };
  }, 250);
  const guard = setTimeout(() => child.kill('SIGKILL'), (secs + 30) * 1000);
  const { code, out } = await output;
  clearInterval(poll);
  clearTimeout(guard);
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out.slice(0, 500)}`);
  const r = parseWrk(out);
  r.wrkCpuPct = cpu.s ? (cpu.ticks / CLK_TCK / cpu.s) * 100 : NaN;
  return r;
}


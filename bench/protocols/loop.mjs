// The closed-loop load generator of bench/protocols.mjs, the same for every protocol: `inFlight`
// calls at all times, each started as soon as one ends, every answer checked against the name its
// own request carried. Only calls that end within the measured `secs` count towards req/s and the
// latencies; those still in flight then are awaited (each client bounds its own calls in time)
// and checked all the same.
import { performance } from 'node:perf_hooks';

function percentile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)];
}

/**
 * Drives `client.call(name)` (resolves to the answer's body as a string, rejects on a failed
 * call) for `secs` s with `inFlight` calls in flight. Names are `<prefix>-<n>`; an answer must be
 * `Hello, <that name>!`.
 */
export async function closedLoop({ client, inFlight, secs, prefix }) {
  const latencies = [];
  const r = { checked: 0, mismatched: 0, errors: 0, firstMismatch: null, firstError: null };
  let seq = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + secs * 1000;
  const one = async () => {
    for (let started = performance.now(); started < end; started = performance.now()) {
      const name = `${prefix}-${++seq}`;
      let body;
      try {
        body = await client.call(name);
      } catch (e) {
        r.errors++;
        r.firstError ??= e.message;
        continue;
      }
      const ended = performance.now();
      r.checked++;
      if (body !== `Hello, ${name}!`) {
        r.mismatched++;
        r.firstMismatch ??= `${name}: ${JSON.stringify(body).slice(0, 120)}`;
      } else if (ended <= end) latencies.push(ended - started);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, one));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    ...r,
    requests: latencies.length,
    rps: latencies.length / secs,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    loadCpuPct: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
  };
}

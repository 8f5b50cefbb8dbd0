// The summary and the tables of bench/images.mjs: cold starts (median and p90 over the rounds,
// with and without the pre-booted pool, and where each instance came from) and the warm rows
// paired with bare node:http.
import { median } from '../warm/report.mjs';

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

/** The nearest-rank `q` quantile (0..1) of `xs`. */
function quantile(xs, q) {
  const a = [...xs].sort((x, y) => x - y);
  return a.length ? a[Math.max(0, Math.ceil(q * a.length) - 1)] : NaN;
}

/** Per row and server kind: median and p90 of the cold calls, and how many came from the pool. */
export function coldStats(rows, first, cold) {
  const out = {};
  for (const row of rows) {
    out[row.name] = { label: row.label, first: first[row.name] };
    for (const kind of ['pool', 'nopool']) {
      const mine = cold.filter((c) => c.row === row.name && c.kind === kind);
      const ms = mine.map((c) => c.ms);
      out[row.name][kind] = { runs: ms.length, median: median(ms), p90: quantile(ms, 0.9), fromPool: mine.filter((c) => c.origin === 'pool').length };
    }
  }
  return out;
}

/** The results as markdown: how they were taken, then the cold table and the warm table. */
export function markdown(facts, summary, rows) {
  const c = facts.config;
  const L = [];
  L.push(`# Ferry container images beside plain functions ${facts.label ? `(${facts.label}) ` : ''}— ${facts.date}`, '');
  L.push(`Host: ${facts.os}, kernel ${facts.kernel}, ${facts.cpus}x ${facts.cpu}, ${facts.memGiB} GiB. Node ${facts.node}; wrk ${facts.wrk}; ${facts.bwrap}; ${facts.busybox}. Ferry ${facts.ferry}. The run took ${fmt(facts.minutes, 1)} min.`, '');
  L.push(
    `Cold: a new connection to the first 200 with the right body, after the version's instances were stopped through the API, the pool was full and the host quiet (up to 5 s for < ${c.quietPct} % busy); ${c.coldRuns} round(s), the rows rotated. ` +
      '"pool" is a server at default settings (`--pool-size 1`), "no pool" the same with `--pool-size 0`; "from pool" counts the calls whose instance the instances API lists with `origin: pool`. ' +
      `Warm: wrk -t${c.threads} -c${c.connections} -d${c.duration}s with bench/wrk/checked.lua after a ${c.warmup} s warm-up, a fresh server per run, ${c.rounds} round(s), every answer checked ` +
      '(`exec` rows: a POST whose body `Hello, <its X-Name>!` must come back for a request still waiting; `http` rows: the exact file). ' +
      (c.pinned ? `Pinned: wrk and the runner on CPU ${c.loadgenCpus}, every server-side process on CPU ${c.serverCpus}.` : 'Not pinned.'),
    '',
  );
  L.push('## Cold start (ms)', '');
  L.push('| function | first call after deploy | pool: median | pool: p90 | from pool | no pool: median | no pool: p90 | from pool |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const s = summary.cold[row.name];
    const k = (x) => `${fmt(x.median, 1)} | ${fmt(x.p90, 1)} | ${x.fromPool}/${x.runs}`;
    L.push(`| ${s.label} | ${fmt(s.first.ms, 1)} (${s.first.origin}) | ${k(s.pool)} | ${k(s.nopool)} |`);
  }
  L.push('');
  if (!Object.keys(summary.rows).length) return L.join('\n');
  L.push(`## Warm throughput, every answer checked (median of ${c.rounds} round(s))`, '');
  L.push('| row | req/s (min–max) | × bare (paired) | per round | p50 ms | p99 ms | server CPU % | other tasks on server core % (med/max) | answers checked | wrong | errors |');
  L.push('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, s] of Object.entries(summary.rows)) {
    if (s.mismatched || !s.runs) {
      L.push(`| ${s.label} | **FAILED**: ${s.mismatched ? `${fmt(s.mismatched)} wrong answers` : (s.failures[0] ?? 'no run')} | | | | | | | ${fmt(s.checked)} | ${fmt(s.mismatched)} | |`);
      continue;
    }
    const rounds = name === summary.base ? '' : s.pairedToBareRounds.map((x) => x.toFixed(2)).join(', ');
    L.push(
      `| ${s.label} | ${fmt(s.rps)} (${fmt(s.rpsMin)}–${fmt(s.rpsMax)}) | ${fmt(s.pairedToBare, 2)} | ${rounds} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.serverCpuPct)} | ${fmt(s.foreignPct)}/${fmt(s.foreignMaxPct)} | ${fmt(s.checked)} | 0 | ${s.errors}${s.failures.length ? ` (+${s.failures.length} failed runs)` : ''} |`,
    );
  }
  L.push('');
  for (const [name, s] of Object.entries(summary.rows)) for (const f of s.failures) L.push(`- ${name} FAILED in ${f}`);
  return L.join('\n') + '\n';
}

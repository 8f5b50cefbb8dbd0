// The summary and the tables of bench/warm.mjs. Every ratio is paired: taken per round between
// runs made minutes apart at most, then the median over rounds, so a host that drifts (other
// tenants come and go) moves both sides of a ratio together.
import fs from 'node:fs';
import path from 'node:path';

export function median(xs) {
  const a = xs.filter(Number.isFinite).sort((x, y) => x - y);
  if (!a.length) return NaN;
  const mid = (a.length - 1) / 2;
  return (a[Math.floor(mid)] + a[Math.ceil(mid)]) / 2;
}
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

/** What a checked runner's summary says of one row's runs: medians over the good ones, and the failures. */
export function runStats(mine) {
  const good = mine.filter((r) => r.ok);
  const med = (key) => median(good.map((r) => r[key]));
  const rps = good.map((r) => r.rps);
  return {
    runs: good.length,
    failures: mine.filter((r) => !r.ok).map((r) => `round ${r.round + 1}: ${r.error}`),
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    p50: med('p50'),
    p99: med('p99'),
    serverCpuPct: med('serverCpuPct'),
    rootUsPerCall: med('rootUsPerCall'),
    restUsPerCall: med('restUsPerCall'),
    serverRssMB: med('serverRssMB'),
    restRssMB: med('restRssMB'),
    foreignPct: med('foreignOnServerCpuPct'),
    foreignMaxPct: Math.max(...good.map((r) => r.foreignOnServerCpuPct ?? NaN)),
  };
}

/**
 * Per row: medians over its good runs, the failures, and the paired ratios. `runs` are in the
 * order they ran: { row, round, ok, rps, p50, ..., error? }; a row's ratio to bare in a round is
 * its req/s over the mean of the bare runs just before and just after it.
 */
export function summarize(rows, runs) {
  const base = rows.find((r) => r.baseline)?.name;
  const S = {};
  for (const row of rows) {
    const mine = runs.filter((r) => r.row === row.name);
    const good = mine.filter((r) => r.ok);
    const toBare = good.map((r) => r.rps / median(r.bareAround ?? [])).filter(Number.isFinite);
    S[row.name] = {
      label: row.label,
      ...runStats(mine),
      wrkCpuPct: median(good.map((r) => r.wrkCpuPct)),
      checked: mine.reduce((s, r) => s + (r.checked || 0), 0),
      mismatched: mine.reduce((s, r) => s + (r.mismatched || 0), 0),
      errors: good.reduce((s, r) => s + r.socketErrors + r.non2xx, 0),
      pairedToBare: row.name === base ? 1 : median(toBare),
      pairedToBareRounds: row.name === base ? [] : toBare,
    };
    if (row.reference) {
      const ref = new Map(runs.filter((r) => r.row === row.reference && r.ok).map((r) => [r.round, r.rps]));
      const rounds = good.filter((r) => ref.has(r.round)).map((r) => r.rps / ref.get(r.round));
      Object.assign(S[row.name], { reference: row.reference, pairedToReference: median(rounds), pairedToReferenceRounds: rounds });
    }
  }
  return { base, rows: S, failed: Object.entries(S).filter(([, s]) => s.failures.length || !s.runs).map(([n]) => n) };
}

/** The results as markdown: the method in two paragraphs, then the tables. */
export function markdown(facts, summary) {
  const c = facts.config;
  const S = summary.rows;
  const L = [];
  L.push(`# Ferry warm path ${facts.label ? `(${facts.label}) ` : ''}— ${facts.date}`, '');
  L.push(`Host: ${facts.os}, kernel ${facts.kernel}, ${facts.cpus}x ${facts.cpu}, ${facts.memGiB} GiB. Node ${facts.node}; ${facts.python}; wrk ${facts.wrk}; ${facts.bwrap}. Ferry ${facts.ferry}.`, '');
  L.push(
    `Load: wrk -t${c.threads} -c${c.connections} -d${c.duration}s --latency with bench/wrk/checked.lua, after a ${c.warmup} s warm-up that is thrown away (its bodies are checked too), a fresh server per run, ${c.rounds} round(s), the order of the rows rotated per round. ` +
      'Every request carries its own `X-Name`; every answer\'s status and body are checked (the headline and many-functions rows must greet the name of a request still waiting for its answer). ' +
      `Before each measurement the runner waits up to ${c.quietWaitS} s for the host to be below ${c.quietPct} % busy. ` +
      (c.pinned ? `Pinned: wrk and the runner on CPU ${c.loadgenCpus}; every server-side process (a Ferry server with its instances and pool) on CPU ${c.serverCpus}.` : 'Not pinned.'),
    '',
  );
  L.push('Paired ratio: bare `node:http` runs before and after every row in every round; a row\'s ratio in a round is its req/s over the mean of those two bare runs, and the table gives the median over rounds.', '');
  L.push(`## Warm throughput, every body checked (median of ${c.rounds} round(s))`, '');
  L.push('| row | req/s (min–max) | × bare (paired) | per round | p50 ms | p99 ms | server CPU % | wrk CPU % | other tasks on server core % (med/max) | bodies checked | wrong | errors |');
  L.push('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, s] of Object.entries(S)) {
    const label = name === summary.base ? `${s.label} (baseline)` : s.label;
    if (s.mismatched) {
      L.push(`| ${label} | **FAILED: ${fmt(s.mismatched)} wrong bodies** | | | | | | | | ${fmt(s.checked)} | ${fmt(s.mismatched)} | |`);
      continue;
    }
    if (!s.runs) {
      L.push(`| ${label} | **FAILED**: ${s.failures[0] ?? 'no run'} | | | | | | | | | | |`);
      continue;
    }
    const rounds = s.pairedToBareRounds.map((x) => x.toFixed(2)).join(', ');
    L.push(
      `| ${label} | ${fmt(s.rps)} (${fmt(s.rpsMin)}–${fmt(s.rpsMax)}) | ${fmt(s.pairedToBare, 2)} | ${rounds} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.serverCpuPct)} | ${fmt(s.wrkCpuPct)} | ${fmt(s.foreignPct)}/${fmt(s.foreignMaxPct)} | ${fmt(s.checked)} | 0 | ${s.errors}${s.failures.length ? ` (+${s.failures.length} failed runs)` : ''} |`,
    );
  }
  L.push('');
  const many = Object.entries(S).filter(([, s]) => s.reference);
  if (many.length) {
    L.push('## Many functions against one (paired per round: req/s over the one-function row\'s req/s in the same round)', '');
    L.push('| row | req/s | × one function (paired) | per round | goal |');
    L.push('|---|---:|---:|---|---:|');
    for (const [, s] of many) {
      const rounds = s.pairedToReferenceRounds.map((x) => x.toFixed(2)).join(', ');
      L.push(`| ${s.label} | ${fmt(s.rps)} | ${fmt(s.pairedToReference, 2)} | ${rounds} | ≥ 0.70 |`);
    }
    L.push('');
  }
  L.push('## CPU per call (median of rounds): the server process, and the rest of its tree (a Ferry server\'s instances and pool)', '');
  L.push('| row | server process µs/call | rest of the tree µs/call | total µs/call |');
  L.push('|---|---:|---:|---:|');
  for (const [, s] of Object.entries(S)) {
    if (!s.runs) continue;
    L.push(`| ${s.label} | ${fmt(s.rootUsPerCall, 1)} | ${fmt(s.restUsPerCall, 1)} | ${fmt(s.rootUsPerCall + s.restUsPerCall, 1)} |`);
  }
  L.push('');
  const resting = Object.entries(S).filter(([, s]) => s.runs && Number.isFinite(s.restRssMB));
  if (resting.length) {
    L.push('## Memory at rest, every function warm (median of rounds, before the load): the server process, and the rest of its tree (its instances, and the pool where there is one)', '');
    L.push('| row | server process MB | rest of the tree MB |');
    L.push('|---|---:|---:|');
    for (const [, s] of resting) L.push(`| ${s.label} | ${fmt(s.serverRssMB, 1)} | ${fmt(s.restRssMB, 1)} |`);
    L.push('');
  }
  for (const [name, s] of Object.entries(S)) for (const f of s.failures) L.push(`- ${name} FAILED in ${f}`);
  if (summary.failed.length) L.push('');
  L.push('Versions: ' + Object.entries(facts.rows).map(([k, v]) => `${k}=${v}`).join('; '));
  return L.join('\n') + '\n';
}

/**
 * Publishes a checked runner's results: into `out` as `<prefix>-<time>[-<label>].md` and `.json`
 * (every run) and the same as `<prefix>-latest.*`, the table on stdout, and exit code 1 when a
 * row failed. `log` says where they went.
 */
export function publishResults(out, prefix, { facts, summary, runs, md }, log) {
  const stamp = facts.date.replace(/[:.]/g, '-');
  const file = path.join(out, `${prefix}-${stamp}${facts.label ? `-${facts.label}` : ''}`);
  const json = JSON.stringify({ facts, summary, runs }, null, 2);
  fs.writeFileSync(`${file}.json`, json);
  fs.writeFileSync(`${file}.md`, md);
  fs.writeFileSync(path.join(out, `${prefix}-latest.json`), json);
  fs.writeFileSync(path.join(out, `${prefix}-latest.md`), md);
  process.stdout.write(md);
  log(`wrote ${file}.md and .json`);
  if (summary.failed.length) {
    log(`FAILED rows: ${summary.failed.join(', ')}`);
    process.exitCode = 1;
  }
}

// The summary and the table of bench/protocols.mjs. The ratio to HTTP is paired: taken per round
// (the rows of a round run minutes apart at most), then the median over rounds, so a host that
// drifts moves both sides of a ratio together.
import { median, runStats } from '../warm/report.mjs';

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const sum = (runs, key) => runs.reduce((s, r) => s + (r[key] || 0), 0);

/** Per row: medians over its good runs, the failures, and the paired ratio to the `base` row. */
export function summarize(rows, runs, base) {
  const S = {};
  for (const row of rows) {
    const mine = runs.filter((r) => r.row === row.name);
    const good = mine.filter((r) => r.ok);
    const baseRps = new Map(runs.filter((r) => r.row === base && r.ok).map((r) => [r.round, r.rps]));
    const toBase = good.filter((r) => baseRps.has(r.round)).map((r) => r.rps / baseRps.get(r.round));
    S[row.name] = {
      label: row.label,
      ...runStats(mine),
      loadCpuPct: median(good.map((r) => r.loadCpuPct)),
      checked: sum(mine, 'checked') + sum(mine, 'warmupChecked'),
      mismatched: sum(mine, 'mismatched') + sum(mine, 'warmupMismatched'),
      errors: sum(mine, 'errors') + sum(mine, 'warmupErrors'),
      retransmissions: sum(mine, 'retransmissions'),
      toBase: row.name === base ? 1 : median(toBase),
      toBaseRounds: row.name === base ? [] : toBase,
    };
  }
  return { base, rows: S, failed: Object.entries(S).filter(([, s]) => s.failures.length || !s.runs).map(([n]) => n) };
}

/** The results as markdown: the method in a paragraph, then the table. */
export function markdown(facts, summary) {
  const c = facts.config;
  const S = summary.rows;
  const L = [];
  L.push(`# Ferry over HTTP, CoAP and gRPC ${facts.label ? `(${facts.label}) ` : ''}— ${facts.date}`, '');
  L.push(`Host: ${facts.os}, kernel ${facts.kernel}, ${facts.cpus}x ${facts.cpu}, ${facts.memGiB} GiB. Node ${facts.node}; ${facts.bwrap}; @grpc/grpc-js ${facts.packages['@grpc/grpc-js']}, coap-packet ${facts.packages['coap-packet']}. Ferry ${facts.ferry}.`, '');
  L.push(
    `Load: one closed-loop generator in Node.js (bench/protocols/loop.mjs) for every row, ${c.inFlight} calls in flight (HTTP: as many keep-alive connections; gRPC: ${c.channels} channel(s); CoAP: one socket), ${c.duration} s after a ${c.warmup} s warm-up that is thrown away, ${c.rounds} round(s), the order of the rows rotated per round, ONE Ferry server (\`--coap-port\`, \`--grpc-port\`) for all of them, the function \`${facts.function}\`. ` +
      'Every call carries a name of its own and every answer (the warm-up\'s too) must greet exactly that name; a call that fails or gets no answer counts as an error and fails the row. ' +
      `Before each measurement the runner waits up to ${c.quietWaitS} s for the host to be below ${c.quietPct} % busy. ` +
      (c.pinned ? `Pinned: the load generator on CPU ${c.loadgenCpus}; the server with its instances and pool on CPU ${c.serverCpus}.` : 'Not pinned.') +
      ' The generator is slower than wrk: its absolute figures are lower than the warm runner\'s; compare the rows by their ratios.',
    '',
  );
  L.push(`## Warm calls per protocol (median of ${c.rounds} round(s))`, '');
  L.push(`| row | req/s (min–max) | × ${summary.base} (paired) | per round | p50 ms | p99 ms | server CPU µs/call (server process + rest of tree) | load generator CPU % | other tasks on server core % (med/max) | answers checked | wrong | errors |`);
  L.push('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [, s] of Object.entries(S)) {
    if (!s.runs || s.mismatched) {
      L.push(`| ${s.label} | **FAILED**: ${s.mismatched ? `${fmt(s.mismatched)} wrong answers` : (s.failures[0] ?? 'no run')} | | | | | | | | ${fmt(s.checked)} | ${fmt(s.mismatched)} | ${fmt(s.errors)} |`);
      continue;
    }
    const rounds = s.toBaseRounds.map((x) => x.toFixed(2)).join(', ');
    const cpu = `${fmt(s.rootUsPerCall + s.restUsPerCall, 1)} (${fmt(s.rootUsPerCall, 1)} + ${fmt(s.restUsPerCall, 1)})`;
    L.push(
      `| ${s.label} | ${fmt(s.rps)} (${fmt(s.rpsMin)}–${fmt(s.rpsMax)}) | ${fmt(s.toBase, 2)} | ${rounds} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${cpu} | ${fmt(s.loadCpuPct)} | ${fmt(s.foreignPct)}/${fmt(s.foreignMaxPct)} | ${fmt(s.checked)} | 0 | ${fmt(s.errors)}${s.failures.length ? ` (+${s.failures.length} failed runs)` : ''} |`,
    );
  }
  L.push('');
  if (S.coap) L.push(`CoAP retransmissions (after 2 s without an ACK): ${fmt(S.coap.retransmissions)}.`, '');
  for (const [name, s] of Object.entries(S)) for (const f of s.failures) L.push(`- ${name} FAILED in ${f}`);
  if (summary.failed.length) L.push('');
  return L.join('\n') + '\n';
}

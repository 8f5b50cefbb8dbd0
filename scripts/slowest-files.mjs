// A node:test reporter beside spec: at the end, the slowest test files by wall time and the
// total, so every CI log shows where the suite's time goes.
const SHOWN = 20;

export default async function* slowestFiles(source) {
  const wall = new Map(); // file -> ms, from the file's own completion event
  const seen = new Map(); // file -> [first, last] event time, when no such event comes
  for await (const { type, data } of source) {
    const file = data?.file;
    if (!file) continue;
    const now = Date.now();
    const span = seen.get(file) ?? [now, now];
    span[1] = now;
    seen.set(file, span);
    // Node 20 reports each file as a test of its own, named by its path, timed from spawn to exit.
    if (type === 'test:complete' && data.nesting === 0 && data.name === file) wall.set(file, data.details.duration_ms);
  }
  for (const [file, [first, last]] of seen) if (!wall.has(file)) wall.set(file, last - first);
  const rows = [...wall].sort((a, b) => b[1] - a[1]);
  const root = process.cwd() + '/';
  const sum = rows.reduce((s, [, ms]) => s + ms, 0);
  yield `\nslowest ${Math.min(SHOWN, rows.length)} of ${rows.length} test files (wall time):\n`;
  for (const [file, ms] of rows.slice(0, SHOWN)) yield `${(ms / 1000).toFixed(1).padStart(7)} s  ${file.replace(root, '')}\n`;
  // The files that ended last, with when each ran (seconds since the suite began): what the
  // suite's wall time waits on at its end.
  const began = Date.now() - process.uptime() * 1000;
  const last = [...wall.keys()].filter((f) => seen.has(f)).sort((a, b) => seen.get(b)[1] - seen.get(a)[1]).slice(0, 8);
  yield `last to end (seconds since the start: first report .. end):\n`;
  for (const f of last) {
    const end = seen.get(f)[1];
    const start = end - wall.get(f);
    yield `${((start - began) / 1000).toFixed(0).padStart(7)} .. ${((end - began) / 1000).toFixed(0).padStart(4)}  ${f.replace(root, '')}\n`;
  }
  yield `total: ${process.uptime().toFixed(1)} s wall, ${(sum / 1000).toFixed(1)} s summed over files\n`;
}

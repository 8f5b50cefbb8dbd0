// The after/before paired ratio of an anchors run of bench/targets-ab: per handler, the median over
// rounds of after req/s divided by before req/s in the same round (robust to a host that drifts).
// `node bench/ab-ratio.mjs [results.json] [--min 0.97]`; exits 1 when a ratio is below --min.
import { readFileSync } from 'node:fs';
import { helpIfAsked } from './warm/options.mjs';

helpIfAsked(import.meta.url);
const args = process.argv.slice(2);
const minAt = args.indexOf('--min');
const min = minAt >= 0 ? Number(args.splice(minAt, 2)[1]) : 0.97;
const file = args[0] ?? `${process.env.ANCHORS_TMP ?? '/tmp/anchors'}/results/latest.json`;
const { results, facts } = JSON.parse(readFileSync(file, 'utf8'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
let low = false;
for (const handler of ['string', 'response']) {
  const b = results.throughput[`ferry-before-${handler}`]?.runs ?? [];
  const a = results.throughput[`ferry-after-${handler}`]?.runs ?? [];
  const byRound = new Map(b.map((r) => [r.round, r.rps]));
  const ratios = a.filter((r) => byRound.has(r.round)).map((r) => r.rps / byRound.get(r.round));
  if (!ratios.length) {
    console.log(`${handler}: no paired rounds in ${file}`);
    low = true;
    continue;
  }
  const paired = median(ratios);
  if (paired < min) low = true;
  console.log(
    `${handler} handler: after/before paired ratio ${paired.toFixed(3)} (rounds: ${ratios.map((r) => r.toFixed(3)).join(', ')}); ` +
      `median req/s before ${Math.round(median(b.map((r) => r.rps)))}, after ${Math.round(median(a.map((r) => r.rps)))}` +
      `${paired < min ? `  BELOW ${min}` : ''}`,
  );
}
console.log(`targets: ${JSON.stringify(facts.targets)}`);
process.exit(low ? 1 : 0);

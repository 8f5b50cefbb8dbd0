/**
 * Smooth weighted round-robin (as nginx does it): deterministic, spreads picks evenly, and over
 * any window of `sum(weights)` picks gives each version exactly its weight. A 50/50 split over
 * 200 calls is exactly 100/100.
 */
export class WeightedSplit {
  private readonly entries: Array<{ version: string; weight: number; current: number }>;
  private readonly total: number;

  constructor(weights: Record<string, number>) {
    this.entries = Object.entries(weights)
      .filter(([, w]) => w > 0)
      .map(([version, weight]) => ({ version, weight, current: 0 }));
    this.total = this.entries.reduce((s, e) => s + e.weight, 0);
  }

  next(): string {
    let best = this.entries[0]!;
    for (const e of this.entries) {
      e.current += e.weight;
      if (e.current > best.current) best = e;
    }
    best.current -= this.total;
    return best.version;
  }
}

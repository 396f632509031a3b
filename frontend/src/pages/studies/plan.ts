/**
 * The Latin-square plan a study will run, shown in the designer before launch. The same rules
 * as the server (studies/services/design.py): one condition per method (per method pair for
 * pairwise trials) for each main trial kind, and participant group `r` takes the conditions in
 * the order of row `r` of the cyclic Latin square.
 */

export interface PlanCondition {
  kind: string;
  condition: string;
  /** What a researcher reads: "Rating · staa" or "Pairwise · staa vs rollout". */
  label: string;
}

const KIND_NAMES: Record<string, string> = {
  rating: "Rating",
  pairwise: "Pairwise",
  forward: "Forward simulation",
  pointing: "Pointing",
  distinction: "Distinction",
};

export function conditionsOf(kinds: readonly string[], methods: readonly string[]): PlanCondition[] {
  const sorted = [...new Set(methods)].sort();
  const out: PlanCondition[] = [];
  for (const kind of kinds.length ? kinds : ["rating"]) {
    const name = KIND_NAMES[kind] ?? kind;
    if (kind === "pairwise") {
      for (let i = 0; i < sorted.length; i += 1) {
        for (let j = i + 1; j < sorted.length; j += 1) {
          out.push({ kind, condition: `${sorted[i]}|${sorted[j]}`, label: `${name} · ${sorted[i]} vs ${sorted[j]}` });
        }
      }
    } else if (kind in KIND_NAMES) {
      for (const m of sorted) out.push({ kind, condition: m, label: `${name} · ${m}` });
    }
  }
  return out;
}

/** Row `row` of the cyclic Latin square over `items`. */
export function latinSquareRow<T>(items: readonly T[], row: number): T[] {
  const n = items.length;
  return items.map((_, i) => items[(row + i) % n]!);
}

/** The main trials of each participant group: `groups[r][i]` is the i-th main trial of row r. */
export function planTable(conditions: readonly PlanCondition[], trialsPerParticipant: number): PlanCondition[][] {
  if (!conditions.length) return [];
  return conditions.map((_, r) => {
    const order = latinSquareRow(conditions, r);
    return Array.from({ length: trialsPerParticipant }, (_, i) => order[i % order.length]!);
  });
}

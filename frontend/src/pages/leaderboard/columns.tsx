/**
 * The leaderboard table's columns: which exist, which a reader sees first, and the chooser that
 * shows or hides the rest. The method column stays put (sticky) while the table scrolls inside
 * its card, so the page itself never scrolls sideways.
 */
import { useId } from "react";

export const COLUMNS = [
  { key: "spatial", label: "Spatial", always: true },
  { key: "temporal", label: "Temporal", always: true },
  { key: "spacetime", label: "Space-time", always: true },
  { key: "small", label: "Small objects" },
  { key: "sound", label: "Sound temporal" },
  { key: "energy", label: "Energy" },
  { key: "iou", label: "IoU" },
  { key: "sparsity", label: "Sparsity" },
  { key: "faithfulness", label: "Faithfulness" },
  { key: "cost", label: "Cost" },
  { key: "model", label: "Model" },
  { key: "clips", label: "Clips" },
  { key: "frames", label: "Frames" },
] as const;
export type ColumnKey = (typeof COLUMNS)[number]["key"];

/** Shown until the reader chooses otherwise (the pointing games first, then cost and model). */
export const DEFAULT_COLUMNS: readonly ColumnKey[] = [
  "spatial",
  "temporal",
  "spacetime",
  "small",
  "sound",
  "faithfulness",
  "cost",
  "model",
  "clips",
];

/** The visible columns from the URL's `cols` (comma separated) or the defaults. */
export function parseColumns(text: string | null): Set<ColumnKey> {
  const known = new Set<string>(COLUMNS.map((c) => c.key));
  const always = COLUMNS.filter((c) => "always" in c && c.always).map((c) => c.key as ColumnKey);
  if (!text) return new Set<ColumnKey>([...DEFAULT_COLUMNS, ...always]);
  const chosen = text.split(",").filter((k) => known.has(k)) as ColumnKey[];
  return new Set<ColumnKey>([...always, ...chosen]);
}

export function formatColumns(shown: Set<ColumnKey>): string {
  return COLUMNS.filter((c) => shown.has(c.key)).map((c) => c.key).join(",");
}

export function ColumnChooser({
  shown,
  onChange,
}: {
  shown: Set<ColumnKey>;
  onChange: (next: Set<ColumnKey>) => void;
}) {
  const id = useId();
  const optional = COLUMNS.filter((c) => !("always" in c && c.always));
  const hidden = optional.filter((c) => !shown.has(c.key)).length;
  return (
    <details className="column-chooser" data-testid="column-chooser">
      <summary className="button button--ghost">
        Columns{hidden > 0 ? ` (${hidden} hidden)` : ""}
      </summary>
      <fieldset className="column-chooser__menu" aria-labelledby={`${id}-legend`}>
        <legend id={`${id}-legend`} className="visually-hidden">
          Columns shown in the table
        </legend>
        {optional.map((c) => (
          <label key={c.key} className="column-chooser__item">
            <input
              type="checkbox"
              checked={shown.has(c.key)}
              onChange={(e) => {
                const next = new Set(shown);
                if (e.target.checked) next.add(c.key);
                else next.delete(c.key);
                onChange(next);
              }}
            />
            {c.label}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

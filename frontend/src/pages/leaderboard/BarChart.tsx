import { DEFAULT_BOX, layoutBars, type BarDatum } from "./chart";

interface BarChartProps {
  data: BarDatum[];
  title: string;
}

/** Horizontal bars with 95% interval whiskers, as SVG: one band per row, names never overlap. */
export function BarChart({ data, title }: BarChartProps) {
  const box = DEFAULT_BOX;
  const { bars, ticks, height } = layoutBars(data, box);
  const plotBottom = height - box.bottom;
  return (
    <svg
      className="bar-chart"
      data-testid="leaderboard-chart"
      viewBox={`0 0 ${box.width} ${height}`}
      role="img"
      aria-label={title}
    >
      <title>{title}</title>
      {ticks.map((t) => (
        <g key={t.label} className="bar-chart__tick">
          <line x1={t.x} x2={t.x} y1={box.top} y2={plotBottom} />
          <text x={t.x} y={plotBottom + 16} textAnchor="middle">
            {t.label}
          </text>
        </g>
      ))}
      {bars.map((b) => (
        <g key={b.key}>
          <text className="bar-chart__label" data-testid="chart-label" x={box.left - 10} y={b.labelY + 4} textAnchor="end">
            <title>{b.label}</title>
            {b.shortLabel}
          </text>
          <rect
            className={b.human ? "bar-chart__bar bar-chart__bar--human" : "bar-chart__bar"}
            data-testid="chart-bar"
            data-key={b.key}
            data-value={b.value ?? ""}
            x={b.x}
            y={b.y}
            width={Math.max(0, b.width)}
            height={b.height}
          >
            <title>{`${b.label}: ${b.value == null ? "no score" : `${Math.round(b.value * 100)}%`}`}</title>
          </rect>
          {b.whisker && (
            <g className="bar-chart__whisker" data-testid="chart-whisker">
              <line x1={b.whisker.x1} x2={b.whisker.x2} y1={b.whisker.y} y2={b.whisker.y} />
              <line x1={b.whisker.x1} x2={b.whisker.x1} y1={b.whisker.y - b.whisker.cap} y2={b.whisker.y + b.whisker.cap} />
              <line x1={b.whisker.x2} x2={b.whisker.x2} y1={b.whisker.y - b.whisker.cap} y2={b.whisker.y + b.whisker.cap} />
            </g>
          )}
          <text className="bar-chart__value" x={(b.whisker ? Math.max(b.whisker.x2, b.x + b.width) : b.x + b.width) + 6} y={b.labelY + 4}>
            {b.value == null ? "no score" : `${Math.round(b.value * 100)}%`}
          </text>
        </g>
      ))}
    </svg>
  );
}

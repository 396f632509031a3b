import { DEFAULT_BOX, layoutBars, type BarDatum } from "./chart";

interface BarChartProps {
  data: BarDatum[];
  title: string;
}

/** Bars with 95% interval whiskers, as SVG (no chart library). */
export function BarChart({ data, title }: BarChartProps) {
  const box = DEFAULT_BOX;
  const { bars, ticks } = layoutBars(data, box);
  return (
    <svg
      className="bar-chart"
      data-testid="leaderboard-chart"
      viewBox={`0 0 ${box.width} ${box.height}`}
      role="img"
      aria-label={title}
    >
      <title>{title}</title>
      {ticks.map((t) => (
        <g key={t.label} className="bar-chart__tick">
          <line x1={box.left} x2={box.width - box.right} y1={t.y} y2={t.y} />
          <text x={box.left - 6} y={t.y + 4} textAnchor="end">
            {t.label}
          </text>
        </g>
      ))}
      {bars.map((b) => (
        <g key={b.key}>
          <rect
            className={b.human ? "bar-chart__bar bar-chart__bar--human" : "bar-chart__bar"}
            data-testid="chart-bar"
            data-key={b.key}
            data-value={b.value ?? ""}
            x={b.x}
            y={b.y}
            width={b.width}
            height={b.height}
          >
            <title>{`${b.label}: ${b.value == null ? "no score" : `${Math.round(b.value * 100)}%`}`}</title>
          </rect>
          {b.whisker && (
            <g className="bar-chart__whisker" data-testid="chart-whisker">
              <line x1={b.whisker.x} x2={b.whisker.x} y1={b.whisker.y1} y2={b.whisker.y2} />
              <line
                x1={b.whisker.x - b.whisker.cap}
                x2={b.whisker.x + b.whisker.cap}
                y1={b.whisker.y1}
                y2={b.whisker.y1}
              />
              <line
                x1={b.whisker.x - b.whisker.cap}
                x2={b.whisker.x + b.whisker.cap}
                y1={b.whisker.y2}
                y2={b.whisker.y2}
              />
            </g>
          )}
          <text
            className="bar-chart__label"
            x={b.labelX}
            y={box.height - box.bottom + 16}
            textAnchor="middle"
          >
            {b.label.length > 18 ? `${b.label.slice(0, 17)}…` : b.label}
          </text>
        </g>
      ))}
    </svg>
  );
}

// A small time-series chart on uPlot: one or more series over epoch-second x values, null
// values drawn as gaps (the agent could not read them). Resizes with its container.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

interface Props {
  title: string;
  x: number[];
  series: ChartSeries[];
  format?: (v: number) => string;
  /** Counts: ticks on whole numbers only. */
  integer?: boolean;
  height?: number;
}

const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000, 1000000];

export function Chart({ title, x, series, format, integer = false, height = 140 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join("|");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = format ?? ((v: number) => String(v));
    const options: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, ...(integer ? { y: { range: (_u: uPlot, min: number, max: number) => [Math.min(0, min), Math.max(1, max)] as uPlot.Range.MinMax } } : {}) },
      axes: [
        { stroke: "#666", grid: { stroke: "#eee" } },
        { stroke: "#666", grid: { stroke: "#eee" }, size: 86, values: (_u, ticks) => ticks.map(fmt), ...(integer ? { incrs: INTEGER_STEPS } : {}) },
      ],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false, value: (_u: uPlot, v: number | null) => (v === null ? "—" : fmt(v)) }))],
    };
    plot.current = new uPlot(options, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const observer = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Recreated only when the set of series changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height, integer]);

  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [x, series]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {x.length < 2 && <p className="muted chart-empty">Collecting history: a chart needs two samples.</p>}
      <div ref={box} className="chart-box" aria-label={`${title} chart`} role="img" />
    </figure>
  );
}

/**
 * One uPlot line chart over time: a series per group (resolved model, route entry …), x in epoch
 * milliseconds. uPlot draws on a canvas and styles its DOM through CSSOM, which the console's
 * `style-src 'self'` CSP allows (it refuses only inline style attributes and tags); its stylesheet is
 * bundled with ours. The figure carries a text summary for screen readers, who get nothing from a canvas.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** One value per x; null: no data at that time. */
  values: (number | null)[];
}

/** Colour-blind-safe (Okabe–Ito), in order of the groups. */
const COLOURS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#000000'];

export function TimeChart(props: {
  id: string;
  title: string;
  times: number[];
  series: ChartSeries[];
  format: (value: number | null) => string;
  summary: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height: 220,
      // From 0, so a flat line of zeros reads as zero (uPlot's own range would centre it on 0..100).
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      series: [
        {},
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: COLOURS[i % COLOURS.length]!,
          width: 2,
          spanGaps: false,
          // Points too: an interval alone between empty ones has no line to draw.
          points: { show: true, size: 5 },
          value: (_u: uPlot, v: number | null) => props.format(v),
        })),
      ],
      axes: [{}, { values: (_u: uPlot, ticks: number[]) => ticks.map((t) => props.format(t)), size: 70 }],
    };
    const data: uPlot.AlignedData = [props.times.map((t) => t / 1000), ...props.series.map((s) => s.values)];
    const chart = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(320, el.clientWidth), height: 220 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [props.times, props.series, props.format]);
  return (
    <figure class="chart" aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title}: ${props.summary}`} />
    </figure>
  );
}

/**
 * The overview's timeline as a uPlot chart: issued, refused and audit "would deny" per bucket.
 * uPlot draws on a canvas and sets styles through the CSSOM, so it runs under the console's
 * Content-Security-Policy without inline styles.
 *
 * @module
 */
import uPlot from 'uplot';
import type { OverviewItem } from './types.js';

const COLOURS = { issued: '#2b7bb9', denied: '#c0392b', audit: '#d68910' };

/** Draws the timeline into `container`, as wide as it is. */
export function timelineChart(container: HTMLElement, overview: OverviewItem): uPlot {
  const x = overview.timeline.map((bucket) => Date.parse(bucket.start) / 1000);
  const series = (key: 'issued' | 'denied' | 'audit'): number[] =>
    overview.timeline.map((bucket) => bucket[key]);
  const bars = uPlot.paths.bars?.({ size: [0.8, 40], align: 1 });
  const options: uPlot.Options = {
    width: Math.max(container.clientWidth, 320),
    height: 240,
    legend: { live: true },
    // The axis and legend in UTC, as every time the console shows.
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
    axes: [{}, { label: 'requests', size: 56 }],
    series: [
      { label: 'time (UTC)' },
      {
        label: 'issued',
        stroke: COLOURS.issued,
        fill: `${COLOURS.issued}55`,
        ...(bars === undefined ? {} : { paths: bars }),
      },
      { label: 'refused', stroke: COLOURS.denied, width: 2 },
      { label: 'audit: would deny', stroke: COLOURS.audit, width: 2, dash: [6, 4] },
    ],
  };
  return new uPlot(options, [x, series('issued'), series('denied'), series('audit')], container);
}

import { memo, useMemo } from 'react';
import { weekdayLabel } from '../../core/events';
import { SHARES_DATA, TIMELINE_DATA, sharesSpec, timelineSpec } from '../../charts/generate-charts';
import {
  TIMELINE_PREFIX_DAYS,
  TIMELINE_PREFIX_EVENTS,
  dayRange,
  deviceShares,
  seriesCounts,
  slotShares,
  timelineRows,
  totalVariation,
  weekdayShares,
  type ShareRow,
} from '../../charts/generate-rows';
import { GENERATED, referenceCounts } from '../lib/generate-view';
import { useGenerateStore, type GenerateRun } from '../stores/generate-store';
import { useReplayStore } from '../stores/replay-store';
import { useThrottled } from '../use-throttled';
import { VegaChart } from '../components/VegaChart';

/** Charts follow the stream at most this often, ms (redrawing 1000 marks is the costly part of a run). */
const CHART_THROTTLE_MS = 750;

/** The run's timeline and its generated-vs-real comparisons, following the stream at most every CHART_THROTTLE_MS. */
export const GenerateCharts = memo(function GenerateCharts({ run }: { run: GenerateRun }) {
  const events = useGenerateStore((s) => s.events);
  const pooled = useGenerateStore((s) => s.pooled);
  const shown = useThrottled(events, CHART_THROTTLE_MS);
  const shownPooled = useThrottled(pooled, CHART_THROTTLE_MS);
  const realStatus = useReplayStore((s) => s.status);
  const realSequences = useReplayStore((s) => s.sequences);
  const realLabel = useReplayStore((s) => s.source?.label ?? 'Real data');

  const rows = useMemo(
    () => timelineRows({ prefix: run.prefix, generated: shown, anchor: run.anchor, startGiven: run.startGiven }),
    [run, shown],
  );
  const timelineData = useMemo(() => ({ [TIMELINE_DATA]: rows }), [rows]);
  const timeline = useMemo(
    () => timelineSpec(run.anchor.weekday, { width: 'container', height: 300 }),
    [run.anchor.weekday],
  );
  const [lo, hi] = dayRange(rows);
  const prefixShown = rows.filter((r) => r.kind === 'prefix').length;

  const realData = useMemo(
    () =>
      realStatus === 'ready' && run.source !== 'replay'
        ? { label: `Real: ${realLabel}`, sequences: realSequences }
        : null,
    [realStatus, realSequences, realLabel, run.source],
  );
  const reference = useMemo(() => referenceCounts(run, realData), [run, realData]);
  // Several trajectories: the comparisons pool all of them (the timeline shows the first).
  const generated = useMemo(
    () => seriesCounts(GENERATED, run.trajectories > 1 ? shownPooled : shown),
    [run.trajectories, shown, shownPooled],
  );
  const series = useMemo(() => [generated, ...reference], [generated, reference]);
  const names = series.map((s) => s.name);
  const namesKey = names.join('\n');

  return (
    <>
      <h3 className="generate-heading">Timeline</h3>
      <p className="muted small">
        One mark per event at its day and 3-hour slot, colored by device; events in the same slot share the cell. Day 0
        is {weekdayLabel(run.anchor.weekday)}, the day of {run.startGiven ? 'the start time' : 'the last prefix event'};
        days {lo} to {hi} shown.
        {prefixShown > 0 &&
          ` Lighter marks: the last ${prefixShown} prefix events (up to ${TIMELINE_PREFIX_EVENTS}, within ${TIMELINE_PREFIX_DAYS} days).`}
      </p>
      <VegaChart
        spec={timeline}
        data={timelineData}
        label="Timeline of the generated events"
        className="generate-timeline"
        testId="generate-timeline"
      />

      <h3 className="generate-heading">Generated vs real</h3>
      {reference.length === 0 && <p className="muted small">Loading the real sequences to compare with…</p>}
      <div className="generate-compare">
        <ShareChart
          title="Devices"
          axis="device"
          series={series}
          namesKey={namesKey}
          rowsOf={deviceShares}
          testId="generate-compare-device"
        />
        <ShareChart
          title="Time of day"
          axis="3-hour slot"
          series={series}
          namesKey={namesKey}
          rowsOf={slotShares}
          testId="generate-compare-slot"
        />
        <ShareChart
          title="Day of week"
          axis="weekday"
          series={series}
          namesKey={namesKey}
          rowsOf={weekdayShares}
          testId="generate-compare-weekday"
        />
      </div>
    </>
  );
});

function ShareChart(props: {
  title: string;
  axis: string;
  series: ReturnType<typeof seriesCounts>[];
  namesKey: string;
  rowsOf: (series: ReturnType<typeof seriesCounts>[]) => ShareRow[];
  testId: string;
}) {
  const { title, axis, series, namesKey, rowsOf, testId } = props;
  const spec = useMemo(
    () => sharesSpec(title, axis, namesKey.split('\n'), { width: 'container', height: 190 }),
    [title, axis, namesKey],
  );
  const rows = useMemo(() => rowsOf(series), [rowsOf, series]);
  const data = useMemo(() => ({ [SHARES_DATA]: rows }), [rows]);
  const distances = series.slice(1).map((s) => ({ name: s.name, tv: totalVariation(rows, GENERATED, s.name) }));
  return (
    <div className="generate-share">
      <VegaChart spec={spec} data={data} label={`${title}: generated vs real`} testId={testId} />
      <p className="muted small">
        {distances
          .filter((d) => d.tv !== null)
          .map((d) => `total variation vs ${d.name}: ${d.tv!.toFixed(2)}`)
          .join(' · ')}
      </p>
    </div>
  );
}

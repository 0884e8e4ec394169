import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { NUM_SLOTS, UNKNOWN_LOCATION, deviceOf, type BehaviorEvent, type BehaviorSequence } from '../src/core/events';
import { addSlots, type WeekTime } from '../src/core/time';
import type { GenerateOptions, GeneratedEvent } from '../src/model/generate';
import type { Predictor } from '../src/model/pipeline';
import {
  CONTINUATION,
  DEFAULT_SETTINGS,
  GENERATED,
  WHOLE_SEQUENCE,
  MAX_EVENTS,
  choosePrefix,
  planRun,
  referenceCounts,
  settingsErrors,
  type GenerateSettings,
} from '../src/app/lib/generate-view';
import {
  OTHER,
  cellPosition,
  dayOf,
  dayRange,
  deviceShares,
  prefixOffsets,
  seriesCounts,
  slotShares,
  timelineRows,
  topDevices,
  totalVariation,
  weekdayOfDay,
  weekdayShares,
  type ShareRow,
} from '../src/charts/generate-rows';
import {
  SHARES_DATA,
  TIMELINE_DATA,
  TIMELINE_GENERATED,
  TIMELINE_PREFIX,
  sharesSpec,
  timelineSpec,
} from '../src/charts/generate-charts';
import { CANNOT_GENERATE, useGenerateStore } from '../src/app/stores/generate-store';
import { useModelStore } from '../src/app/stores/model-store';
import { useReplayStore } from '../src/app/stores/replay-store';
import { useComposeStore } from '../src/app/stores/compose-store';

const ev = (behavior: string, weekday: number, slot: number): BehaviorEvent => ({
  behavior,
  weekday,
  slot,
  location: UNKNOWN_LOCATION,
});

const SEQ: BehaviorSequence = {
  id: 'us-0001',
  events: [
    ev('Light:switch on', 0, 6),
    ev('Television:switch on', 0, 7),
    ev('Light:switch off', 1, 0),
    ev('Blind:windowShade open', 1, 2),
    ev('Light:switch on', 1, 6),
  ],
};

/** A trajectory as the generator yields it: times advance by `deltas` from `anchor` (the first at `anchor` when startGiven). */
function trajectory(
  anchor: WeekTime,
  deltas: number[],
  startGiven: boolean,
  behaviors = ['Light:switch on', 'Fan:switch on'],
): GeneratedEvent[] {
  let elapsed = 0;
  return deltas.map((d, index) => {
    if (!(startGiven && index === 0)) elapsed += d;
    const t = addSlots(anchor, elapsed);
    return {
      ...ev(behaviors[index % behaviors.length], t.weekday, t.slot),
      index,
      elapsedSlots: elapsed,
      probability: 0.5,
      timeProbability: 0.1,
    };
  });
}

describe('prefix and run plan', () => {
  it('continues the replayed sequence up to its step, keeping the real continuation', () => {
    const c = choosePrefix('replay', { replay: { sequence: SEQ, step: 3 }, typed: [] });
    expect(c.prefix).toEqual(SEQ.events.slice(0, 3));
    expect(c.continuation).toEqual(SEQ.events.slice(3));
    expect(c.sequence).toBe(SEQ);
    expect(c.description).toContain('3 events of us-0001');
    expect(choosePrefix('replay', { replay: { sequence: null, step: 1 }, typed: [] }).prefix).toEqual([]);
  });

  it('continues the typed sequence, or nothing', () => {
    const typed = [ev('Fan:switch on', 2, 3)];
    const t = choosePrefix('typed', { replay: { sequence: SEQ, step: 3 }, typed });
    expect(t.prefix).toEqual(typed);
    expect(t.prefix).not.toBe(typed);
    expect(t.continuation).toBeNull();
    const e = choosePrefix('empty', { replay: { sequence: SEQ, step: 3 }, typed });
    expect(e.prefix).toEqual([]);
    expect(e.sequence).toBeNull();
  });

  it('validates the settings; an empty prefix needs a start time', () => {
    expect(settingsErrors(DEFAULT_SETTINGS, 3)).toEqual([]);
    expect(settingsErrors({ ...DEFAULT_SETTINGS, fixStart: true }, 0)).toEqual([]);
    expect(settingsErrors({ ...DEFAULT_SETTINGS, startSlot: 8 }, 0)).toEqual([
      'Start time: a weekday and a 3-hour slot.',
    ]);
    expect(settingsErrors({ ...DEFAULT_SETTINGS, startSlot: 8 }, 2)).toEqual([]);
    const bad: GenerateSettings = {
      ...DEFAULT_SETTINGS,
      count: MAX_EVENTS + 1,
      temperature: 0,
      topK: -1,
      topP: 1.5,
      seed: 1.5,
    };
    expect(settingsErrors(bad, 2)).toHaveLength(5);
    expect(settingsErrors({ ...DEFAULT_SETTINGS, mode: 'horizon', days: 15 }, 2)).toHaveLength(1);
    expect(settingsErrors({ ...DEFAULT_SETTINGS, mode: 'horizon', days: 14, count: Number.NaN }, 2)).toEqual([]);
    expect(settingsErrors({ ...DEFAULT_SETTINGS, trajectories: 200 }, 2)).toEqual([]);
    for (const trajectories of [0, 201, 2.5, Number.NaN])
      expect(settingsErrors({ ...DEFAULT_SETTINGS, trajectories }, 2)).toEqual([
        'Trajectories: a whole number from 1 to 200.',
      ]);
  });

  it('turns the settings into generator options and the timeline anchor', () => {
    const prefix = SEQ.events.slice(0, 3);
    const a = planRun({ ...DEFAULT_SETTINGS, count: 50, seed: 9 }, prefix);
    expect(a.plan).not.toBeNull();
    expect(a.plan!.options).toEqual({ prefix, maxEvents: 50, sampling: { temperature: 0.9, topP: 0.95 }, seed: 9 });
    expect(a.plan!.anchor).toEqual({ weekday: 1, slot: 0 });
    expect(a.plan!.startGiven).toBe(false);

    const b = planRun(
      {
        ...DEFAULT_SETTINGS,
        mode: 'horizon',
        days: 3,
        fixStart: true,
        startWeekday: 5,
        startSlot: 2,
        temperature: 0.8,
        topK: 5,
        topP: 0.9,
      },
      prefix,
    );
    expect(b.plan!.options).toMatchObject({
      maxEvents: MAX_EVENTS,
      horizonSlots: 24,
      start: { weekday: 5, slot: 2 },
      sampling: { temperature: 0.8, topK: 5, topP: 0.9 },
    });
    expect(b.plan!.anchor).toEqual({ weekday: 5, slot: 2 });

    const c = planRun({ ...DEFAULT_SETTINGS, fixStart: false, startWeekday: 7 }, []);
    expect(c.plan).toBeNull();
    expect(c.errors.length).toBe(1);
    // An empty prefix starts at the start time even when fixStart is off.
    const d = planRun({ ...DEFAULT_SETTINGS, fixStart: false, startWeekday: 6, startSlot: 7 }, []);
    expect(d.plan!.options.start).toEqual({ weekday: 6, slot: 7 });
    expect(d.plan!.startGiven).toBe(true);
  });
});

describe('default sampling', () => {
  it("is the sampling chosen on valid by `npm run generation` (docs/results.json), with the model's correction", () => {
    const rows = JSON.parse(readFileSync('docs/results.json', 'utf8')) as {
      task: string;
      chosenOnValid?: boolean;
      sampling?: { corrected: boolean; temperature: number; topP: number };
    }[];
    const chosen = rows.filter((r) => r.task === 'generation' && r.chosenOnValid);
    expect(chosen).toHaveLength(1);
    // The app's Predictor always applies the model's correction, so only a corrected choice can be the default.
    expect(chosen[0].sampling).toEqual({
      corrected: true,
      temperature: DEFAULT_SETTINGS.temperature,
      topP: DEFAULT_SETTINGS.topP,
    });
    expect(DEFAULT_SETTINGS.topK).toBe(0);
  });
});

describe('timeline', () => {
  it('puts each generated event on the day whose weekday is its weekday', () => {
    for (const [anchor, startGiven] of [
      [{ weekday: 4, slot: 6 }, false],
      [{ weekday: 6, slot: 7 }, true],
      [{ weekday: 0, slot: 0 }, true],
    ] as const) {
      const gen = trajectory(anchor, [0, 3, 9, 1, 20, 55, 8, 0, 2], startGiven);
      if (startGiven) expect([gen[0].weekday, gen[0].slot]).toEqual([anchor.weekday, anchor.slot]);
      for (const e of gen) {
        const day = dayOf(anchor.slot, e.elapsedSlots);
        expect(weekdayOfDay(anchor.weekday, day)).toBe(e.weekday);
        expect(day).toBeGreaterThanOrEqual(0);
      }
    }
    expect(weekdayOfDay(0, -1)).toBe(6);
    expect(dayOf(7, 1)).toBe(1);
    expect(dayOf(3, -4)).toBe(-1);
  });

  it('walks the prefix back from the anchor', () => {
    const prefix = SEQ.events.slice(0, 3); // Mon 6, Mon 7, Tue 0
    expect(prefixOffsets(prefix, { weekday: 1, slot: 0 }, false)).toEqual([-2, -1, 0]);
    // With a start time Tue slot 2, the last prefix event is 2 slots before it.
    expect(prefixOffsets(prefix, { weekday: 1, slot: 2 }, true)).toEqual([-4, -3, -2]);
    const anchor = { weekday: 1, slot: 2 };
    prefixOffsets(prefix, anchor, true).forEach((o, i) =>
      expect(weekdayOfDay(anchor.weekday, dayOf(anchor.slot, o))).toBe(prefix[i].weekday),
    );
  });

  it('lays several events of a cell out inside the cell, without overlap', () => {
    for (const n of [1, 2, 3, 5, 10, 40]) {
      const seen = new Set<string>();
      for (let k = 0; k < n; k++) {
        const { dx, dy } = cellPosition(k, n);
        expect(Math.abs(dx)).toBeLessThan(0.45);
        expect(Math.abs(dy)).toBeLessThan(0.45);
        seen.add(`${dx.toFixed(6)},${dy.toFixed(6)}`);
      }
      expect(seen.size).toBe(n);
    }
  });

  it('has one mark per generated event and the recent prefix, in their cells', () => {
    const prefix = SEQ.events.slice(0, 3);
    const anchor = { weekday: 1, slot: 0 };
    const gen = trajectory(anchor, [0, 0, 0, 5, 9, 16], false);
    const rows = timelineRows({ prefix, generated: gen, anchor, startGiven: false });
    expect(rows.filter((r) => r.kind === 'generated')).toHaveLength(6);
    expect(rows.filter((r) => r.kind === 'prefix').map((r) => r.index)).toEqual([0, 1, 2]);
    for (const r of rows) {
      expect(r.device).toBe(deviceOf(r.behavior));
      expect(Math.abs(r.x - r.day)).toBeLessThan(0.5);
      expect(Math.abs(r.y - r.slot)).toBeLessThan(0.5);
      expect(r.label).toContain(r.behavior);
    }
    // The last prefix event and the first three generated events share Tue 00–03: four distinct spots.
    const cell = rows.filter((r) => r.day === 0 && r.slot === 0);
    expect(cell).toHaveLength(4);
    expect(new Set(cell.map((r) => `${r.x},${r.y}`)).size).toBe(4);
    expect(dayRange(rows)).toEqual([-1, 3]);
    // Long prefixes: only the last events within the day limit.
    const long = Array.from({ length: 100 }, (_, i) => ev('Light:switch on', Math.floor(i / 8) % 7, i % 8));
    const lastT = long.at(-1)!;
    const some = timelineRows({
      prefix: long,
      generated: [],
      anchor: lastT,
      startGiven: false,
      maxPrefixEvents: 32,
      maxPrefixDays: 2,
    });
    expect(some.length).toBeLessThanOrEqual(32);
    expect(Math.min(...some.map((r) => r.day))).toBeGreaterThanOrEqual(-2);
    expect(some.at(-1)!.index).toBe(99);
  });
});

describe('distributions', () => {
  const gen = [
    ev('Light:switch on', 0, 1),
    ev('Light:switch off', 0, 1),
    ev('Fan:switch on', 2, 7),
    ev('Television:switch on', 6, 3),
  ];
  const real = [
    ev('Light:switch on', 0, 1),
    ev('Television:switch on', 2, 2),
    ev('Television:switch off', 2, 2),
    ev('Blind:windowShade open', 5, 6),
  ];
  const series = [seriesCounts(GENERATED, gen), seriesCounts('Real', real), seriesCounts('Empty', [])];

  const byKey = (rows: ShareRow[]) => Object.fromEntries(rows.map((r) => [`${r.series}|${r.category}`, r.share]));
  const sums = (rows: ShareRow[]) => {
    const m = new Map<string, number>();
    for (const r of rows) m.set(r.series, (m.get(r.series) ?? 0) + r.share);
    return m;
  };

  it('counts devices, weekdays and slots', () => {
    const c = seriesCounts('x', gen);
    expect(c.total).toBe(4);
    expect(Object.fromEntries(c.devices)).toEqual({ Light: 2, Fan: 1, Television: 1 });
    expect(c.weekdays).toEqual([2, 0, 1, 0, 0, 0, 1]);
    expect(c.slots).toEqual([0, 2, 0, 1, 0, 0, 0, 1]);
  });

  it('device shares: the top devices by their largest share, then other', () => {
    // Light and Television both reach 50% in one series: ties go by name.
    expect(topDevices(series, 2)).toEqual(['Light', 'Television']);
    expect(topDevices(series, 3)).toEqual(['Light', 'Television', 'Blind']);
    const rows = deviceShares(series, 2);
    const s = byKey(rows);
    expect(s[`${GENERATED}|Light`]).toBe(0.5);
    expect(s[`${GENERATED}|Television`]).toBe(0.25);
    expect(s[`${GENERATED}|${OTHER}`]).toBe(0.25);
    expect(s['Real|Television']).toBe(0.5);
    expect(s[`Real|${OTHER}`]).toBe(0.25);
    expect(s['Empty|Light']).toBe(0);
    const totals = sums(rows);
    expect(totals.get(GENERATED)).toBeCloseTo(1, 12);
    expect(totals.get('Real')).toBeCloseTo(1, 12);
    expect(totals.get('Empty')).toBe(0);
    // Category order is the axis order, the same in every series.
    expect(rows.filter((r) => r.series === 'Real').map((r) => [r.category, r.order])).toEqual([
      ['Light', 0],
      ['Television', 1],
      [OTHER, 2],
    ]);
    // Few devices: no "other" bar.
    expect(deviceShares(series, 10).some((r) => r.category === OTHER)).toBe(false);
  });

  it('slot and weekday shares have every category and sum to one', () => {
    const slots = slotShares(series);
    expect(slots.filter((r) => r.series === GENERATED)).toHaveLength(NUM_SLOTS);
    expect(byKey(slots)[`${GENERATED}|03–06 h`]).toBe(0.5);
    expect(sums(slots).get('Real')).toBeCloseTo(1, 12);
    const days = weekdayShares(series);
    expect(days.filter((r) => r.series === 'Real')).toHaveLength(7);
    expect(byKey(days)['Real|Wed']).toBe(0.5);
    expect(sums(days).get(GENERATED)).toBeCloseTo(1, 12);
  });

  it('total variation: 0 for equal distributions, 1 for disjoint ones, null when empty', () => {
    const same = slotShares([seriesCounts('a', gen), seriesCounts('b', [...gen, ...gen])]);
    expect(totalVariation(same, 'a', 'b')).toBeCloseTo(0, 12);
    const disjoint = slotShares([seriesCounts('a', [ev('X:y', 0, 0)]), seriesCounts('b', [ev('X:y', 0, 5)])]);
    expect(totalVariation(disjoint, 'a', 'b')).toBeCloseTo(1, 12);
    expect(totalVariation(slotShares(series), GENERATED, 'Empty')).toBeNull();
    expect(totalVariation(slotShares(series), GENERATED, 'missing')).toBeNull();
    // Weekdays: generated Mon .5 Wed .25 Sun .25; real Mon .25 Wed .5 Sat .25 → ½(.25 + .25 + .25 + .25) = .5
    expect(totalVariation(weekdayShares(series), GENERATED, 'Real')).toBeCloseTo(0.5, 12);
  });

  it('compares a replayed run with its continuation and whole sequence, others with the real data', () => {
    const replay = referenceCounts({ source: 'replay', continuation: SEQ.events.slice(3), sequence: SEQ }, null);
    expect(replay.map((s) => [s.name, s.total])).toEqual([
      [CONTINUATION, 2],
      [WHOLE_SEQUENCE, 5],
    ]);
    const atEnd = referenceCounts({ source: 'replay', continuation: [], sequence: SEQ }, null);
    expect(atEnd.map((s) => s.name)).toEqual([WHOLE_SEQUENCE]);
    const typed = referenceCounts(
      { source: 'typed', continuation: null, sequence: null },
      { label: 'Demo', sequences: [SEQ, SEQ] },
    );
    expect(typed.map((s) => [s.name, s.total])).toEqual([['Demo', 10]]);
    expect(referenceCounts({ source: 'empty', continuation: null, sequence: null }, null)).toEqual([]);
  });
});

/** Renders a Vega-Lite spec headless (vega, SVG string) after inserting `data` into its named datasets. */
async function renderSvg(spec: TopLevelSpec, data: Record<string, object[]>): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  for (const [name, values] of Object.entries(data)) view.data(name, values);
  await view.runAsync();
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

describe('chart specs', () => {
  it('the timeline draws one generated mark per generated event and the prefix in its own layer', async () => {
    const prefix = SEQ.events.slice(0, 3);
    const anchor = { weekday: 1, slot: 0 };
    const rows = timelineRows({
      prefix,
      generated: trajectory(anchor, [1, 2, 0, 9, 3, 30, 1], false),
      anchor,
      startGiven: false,
    });
    const spec = timelineSpec(anchor.weekday, { width: 500, height: 200 });
    expect(spec.datasets[TIMELINE_DATA]).toEqual([]);
    const svg = await renderSvg(spec, { [TIMELINE_DATA]: rows });
    const marks = (name: string) => {
      const group = svg.match(new RegExp(`<g class="mark-symbol role-mark ${name}_marks"[^>]*>(.*?)</g>`, 's'));
      return group ? (group[1].match(/<path/g) ?? []).length : -1;
    };
    expect(marks(TIMELINE_GENERATED)).toBe(7);
    expect(marks(TIMELINE_PREFIX)).toBe(3);
    // Day labels: weekday names relative to the anchor (Tue is day 0).
    expect(svg).toContain('Tue (start)');
    expect(svg).toContain('Mon -1');
    expect(svg).toContain('21–24 h');
  });

  it('the comparison bars have one bar per series and category', async () => {
    const series = [
      seriesCounts(GENERATED, [ev('Light:switch on', 0, 1)]),
      seriesCounts('Real', [ev('Fan:switch on', 3, 4)]),
    ];
    const rows = weekdayShares(series);
    const spec = sharesSpec('Day of week', 'weekday', [GENERATED, 'Real'], { width: 300, height: 150 });
    const svg = await renderSvg(spec, { [SHARES_DATA]: rows });
    expect((svg.match(/<path/g) ?? []).length).toBeGreaterThanOrEqual(14);
    expect(svg).toContain('Generated');
    expect(svg).toContain('Sun');
  });
});

describe('generate store', () => {
  type Fake = {
    info: { canGenerate: boolean };
    generate: (prefix: readonly BehaviorEvent[], o: Omit<GenerateOptions, 'prefix'>) => AsyncGenerator<GeneratedEvent>;
    calls: GenerateOptions[];
  };

  /** A model (BehaviorModel's generate contract) whose generator yields events, waiting `ms` per step (0: a microtask only). */
  function fakePredictor(ms: number, canGenerate = true): Fake {
    const calls: GenerateOptions[] = [];
    return {
      info: { canGenerate },
      calls,
      generate: async function* (prefix, rest) {
        const options: GenerateOptions = { ...rest, prefix };
        calls.push(options);
        const anchor = options.start ?? options.prefix.at(-1)!;
        for (let index = 0; index < options.maxEvents; index++) {
          if (options.signal?.aborted) return;
          await (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
          const t = addSlots(anchor, index);
          yield {
            ...ev('Light:switch on', t.weekday, t.slot),
            index,
            elapsedSlots: index,
            probability: 0.3,
            timeProbability: 0.2,
          };
        }
      },
    };
  }

  const installFake = (fake: Fake) =>
    useModelStore.setState({ predictor: fake as unknown as Predictor, url: 'fake', status: 'ready' });
  const waitFor = async (check: () => boolean, ms = 5000) => {
    const t0 = Date.now();
    while (!check()) {
      if (Date.now() - t0 > ms) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  beforeEach(() => {
    useReplayStore.setState({ status: 'ready', sequences: [SEQ], selectedId: SEQ.id, step: 2 });
    useComposeStore.setState({ events: [] });
    useGenerateStore.setState({ settings: { ...DEFAULT_SETTINGS, seed: 7 } });
  });
  afterEach(() => {
    useGenerateStore.getState().clear();
    useModelStore.setState({ predictor: null });
  });

  it('generates the requested events from the replayed prefix, in few batches', async () => {
    const fake = fakePredictor(0);
    installFake(fake);
    useGenerateStore.getState().setSettings({ count: 1000 });
    let updates = 0;
    const unsubscribe = useGenerateStore.subscribe((s, prev) => {
      if (s.events !== prev.events) updates++;
    });
    await useGenerateStore.getState().start();
    unsubscribe();
    const s = useGenerateStore.getState();
    expect(s.status).toBe('done');
    expect(s.events).toHaveLength(1000);
    expect(s.events.map((e) => e.index)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(updates).toBeLessThan(100);
    expect(fake.calls[0]).toMatchObject({ prefix: SEQ.events.slice(0, 2), maxEvents: 1000, seed: 7 });
    expect(s.run).toMatchObject({
      source: 'replay',
      prefix: SEQ.events.slice(0, 2),
      continuation: SEQ.events.slice(2),
      startGiven: false,
    });
    expect(s.run!.finishedAt).not.toBeNull();
  });

  it('stop() ends a run mid-stream and nothing arrives after it', async () => {
    installFake(fakePredictor(2));
    useGenerateStore.getState().setSettings({ count: 1000 });
    const running = useGenerateStore.getState().start();
    await waitFor(() => useGenerateStore.getState().events.length >= 5);
    useGenerateStore.getState().stop();
    const n = useGenerateStore.getState().events.length;
    expect(useGenerateStore.getState().status).toBe('stopped');
    await running;
    await new Promise((r) => setTimeout(r, 200));
    expect(useGenerateStore.getState().events.length).toBe(n);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(1000);
    expect(useGenerateStore.getState().status).toBe('stopped');
  });

  it('stops when the model changes, refuses a model without a time head, and invalid settings', async () => {
    installFake(fakePredictor(2));
    useGenerateStore.getState().setSettings({ count: 1000 });
    const running = useGenerateStore.getState().start();
    await waitFor(() => useGenerateStore.getState().events.length >= 2);
    useModelStore.setState({ predictor: null });
    await running;
    expect(useGenerateStore.getState()).toMatchObject({ status: 'stopped', stopReason: 'The model changed.' });

    installFake(fakePredictor(0, false));
    await useGenerateStore.getState().start();
    expect(useGenerateStore.getState()).toMatchObject({ status: 'error', error: CANNOT_GENERATE });

    const fake = fakePredictor(0);
    installFake(fake);
    useGenerateStore.getState().setSettings({ source: 'typed', count: 3, startWeekday: -1 });
    await useGenerateStore.getState().start();
    expect(useGenerateStore.getState().status).toBe('error');
    expect(fake.calls).toHaveLength(0);
    useGenerateStore.getState().setSettings({ startWeekday: 2, startSlot: 4 });
    await useGenerateStore.getState().start();
    expect(useGenerateStore.getState().status).toBe('done');
    expect(fake.calls[0]).toMatchObject({ prefix: [], start: { weekday: 2, slot: 4 }, maxEvents: 3 });
    expect(useGenerateStore.getState().events.map((e) => [e.weekday, e.slot])).toEqual([
      [2, 4],
      [2, 5],
      [2, 6],
    ]);
  });
});

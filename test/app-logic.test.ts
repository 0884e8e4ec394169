import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseBehaviorLog, replayable } from '../src/core/data';
import { createLatestRunner } from '../src/app/lib/latest';
import { backendFromSearch } from '../src/app/lib/query';
import { formatDuration, formatFrequencies, rankIn, splitRecall } from '../src/app/lib/format';
import { listSequences } from '../src/app/lib/sequence-list';
import { loadReplayData, OFFLINE_REASON } from '../src/browser/behavior-logs';
import { clampStep, useReplayStore } from '../src/app/stores/replay-store';
import { useComposeStore } from '../src/app/stores/compose-store';

describe('createLatestRunner', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function deferred<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }

  it('debounces: only the last of quick schedules runs', async () => {
    const results: string[] = [];
    const started: string[] = [];
    const r = createLatestRunner<string>(100, {
      onStart: (k) => started.push(k),
      onResult: (k, v) => results.push(`${k}=${v}`),
      onError: () => {},
    });
    r.schedule('a', async () => 'A');
    await vi.advanceTimersByTimeAsync(50);
    r.schedule('b', async () => 'B');
    await vi.advanceTimersByTimeAsync(50);
    r.schedule('c', async () => 'C');
    await vi.advanceTimersByTimeAsync(150);
    expect(started).toEqual(['c']);
    expect(results).toEqual(['c=C']);
  });

  it('never delivers a stale result after a newer one was scheduled', async () => {
    const results: string[] = [];
    const slow = deferred<string>();
    const r = createLatestRunner<string>(0, { onResult: (k, v) => results.push(`${k}=${v}`), onError: () => {} });
    r.schedule('old', () => slow.promise);
    await vi.advanceTimersByTimeAsync(1);
    r.schedule('new', async () => 'NEW');
    await vi.advanceTimersByTimeAsync(1);
    // 'new' waits for 'old' to finish (one task at a time); 'old' resolves last-but-stale.
    slow.resolve('OLD');
    await vi.advanceTimersByTimeAsync(1);
    expect(results).toEqual(['new=NEW']);
  });

  it('runs one task at a time and then the newest waiting one', async () => {
    let running = 0;
    let maxRunning = 0;
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    const started: string[] = [];
    const results: string[] = [];
    const r = createLatestRunner<number>(0, {
      onStart: (k) => started.push(k),
      onResult: (k, v) => results.push(`${k}=${v}`),
      onError: () => {},
    });
    const task = (i: number) => async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const v = await gates[i].promise;
      running--;
      return v;
    };
    r.schedule('0', task(0));
    await vi.advanceTimersByTimeAsync(1);
    r.schedule('1', task(1));
    await vi.advanceTimersByTimeAsync(1);
    r.schedule('2', task(2));
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toEqual(['0']);
    gates[0].resolve(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toEqual(['0', '2']);
    gates[2].resolve(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(results).toEqual(['2=2']);
    expect(maxRunning).toBe(1);
    expect(r.busy).toBe(false);
  });

  it('reports errors of the latest task only, and cancel silences everything', async () => {
    const errors: string[] = [];
    const results: string[] = [];
    const r = createLatestRunner<string>(0, {
      onResult: (k) => results.push(k),
      onError: (k, e) => errors.push(`${k}:${(e as Error).message}`),
    });
    r.schedule('bad', async () => {
      throw new Error('boom');
    });
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toEqual(['bad:boom']);
    r.schedule('x', async () => 'X');
    r.cancel();
    await vi.advanceTimersByTimeAsync(10);
    expect(results).toEqual([]);
  });
});

describe('backendFromSearch', () => {
  it('reads ?backend= and falls back to auto', () => {
    expect(backendFromSearch('')).toEqual({ backend: 'auto' });
    expect(backendFromSearch('?backend=auto')).toEqual({ backend: 'auto' });
    expect(backendFromSearch('?backend=webgpu')).toEqual({ backend: 'webgpu' });
    expect(backendFromSearch('?x=1&backend=WASM')).toEqual({ backend: 'wasm' });
    const bad = backendFromSearch('?backend=tpu');
    expect(bad.backend).toBe('auto');
    expect(bad.warning).toMatch(/tpu.*webgpu, wasm, webgl, cpu/);
  });
});

describe('display helpers', () => {
  it('reads valid/test recall from the training record', () => {
    const training = { valid: { loss: 1.8, 'weighted_recall@1': 0.39, 'weighted_recall@5': 0.84 }, test: 'n/a' };
    expect(splitRecall(training, 'valid')).toEqual({ recall1: 0.39, recall5: 0.84, recall10: undefined, loss: 1.8 });
    expect(splitRecall(training, 'test')).toBeNull();
    expect(splitRecall({}, 'valid')).toBeNull();
  });

  it('says what fine-tuning did with the behavior frequencies', () => {
    expect(formatFrequencies({ matched: true })).toBe("output biases matched to the data's behavior frequencies");
    expect(formatFrequencies({ matched: false, validationLoss: { unmatched: 1.2, matched: 1.3456 } })).toBe(
      "the model's own behavior frequencies kept (validation loss 1.346 matched vs 1.200 not)",
    );
  });

  it('ranks a behavior in sorted predictions', () => {
    const p = [{ behavior: 'a' }, { behavior: 'b' }, { behavior: 'c' }];
    expect(rankIn(p, 'a')).toBe(1);
    expect(rankIn(p, 'c')).toBe(3);
    expect(rankIn(p, 'z')).toBeNull();
  });

  it('formats an ETA', () => {
    expect(formatDuration(41.6)).toBe('42 s');
    expect(formatDuration(185)).toBe('3 min 5 s');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('–');
    expect(formatDuration(Number.NaN)).toBe('–');
  });
});

describe('sequence picker list', () => {
  const seqs = Array.from({ length: 12 }, (_, i) => ({ id: `us-${String(i).padStart(4, '0')}`, events: [] }));
  const ids = (r: { listed: { id: string }[] }) => r.listed.map((s) => s.id);

  it('lists the first `max` sequences, and the selected one first when it is further down', () => {
    expect(ids(listSequences(seqs, '', 'us-0001', 3))).toEqual(['us-0000', 'us-0001', 'us-0002']);
    const r = listSequences(seqs, '', 'us-0010', 3);
    expect(ids(r)).toEqual(['us-0010', 'us-0000', 'us-0001', 'us-0002']);
    expect(r.matching).toBe(12);
  });

  it('filters by id, in any case, and keeps the selected one listed', () => {
    const r = listSequences(seqs, ' US-001 ', 'us-0003', 300);
    expect(r.matching).toBe(2);
    expect(ids(r)).toEqual(['us-0003', 'us-0010', 'us-0011']);
    expect(ids(listSequences(seqs, 'nothing', null, 300))).toEqual([]);
  });
});

describe('replay store', () => {
  it('keeps the step within 1..length-1', () => {
    expect(clampStep(0, 5)).toBe(1);
    expect(clampStep(9, 5)).toBe(4);
    expect(clampStep(3, 5)).toBe(3);
    expect(clampStep(3, 1)).toBe(1);
  });

  it('steps through the selected sequence', () => {
    const ev = (behavior: string) => ({ behavior, weekday: 0, slot: 0, location: '<unknown>' });
    useReplayStore.setState({
      status: 'ready',
      sequences: [
        { id: 's1', events: [ev('a'), ev('b'), ev('c'), ev('d')] },
        { id: 's2', events: [ev('a'), ev('b')] },
      ],
      selectedId: 's1',
      step: 1,
    });
    const s = () => useReplayStore.getState();
    s().next();
    s().next();
    s().next();
    expect(s().step).toBe(3);
    s().first();
    expect(s().step).toBe(1);
    s().prev();
    expect(s().step).toBe(1);
    s().last();
    expect(s().step).toBe(3);
    s().select('s2');
    expect(s().step).toBe(1);
    s().last();
    expect(s().step).toBe(1);
    s().select('missing');
    expect(s().selectedId).toBe('s2');
  });
});

describe('compose store', () => {
  it('adds the draft, removes by index and sets the next-event time', () => {
    const s = () => useComposeStore.getState();
    s().clear();
    s().setDraft({ behavior: ' Light:switch on ', weekday: 2, slot: 3 });
    s().addDraft();
    s().add({ behavior: 'Television:switch on', weekday: 2, slot: 6 });
    s().add({ behavior: 'Television:switch off', weekday: 2, slot: 7 });
    expect(s().draft.behavior).toBe('');
    expect(s().events.map((e) => e.behavior)).toEqual([
      'Light:switch on',
      'Television:switch on',
      'Television:switch off',
    ]);
    expect(s().events[0]).toEqual({ behavior: 'Light:switch on', weekday: 2, slot: 3, location: '<unknown>' });
    s().remove(1);
    expect(s().events.map((e) => e.behavior)).toEqual(['Light:switch on', 'Television:switch off']);
    s().setNext({ slot: 1 });
    expect([s().nextWeekday, s().nextSlot]).toEqual([4, 1]);
  });
});

describe('replay data', () => {
  const demoText = readFileSync('public/examples/demo-sequences.csv', 'utf8');
  const canonical =
    'sequence_id,step,weekday,time_slot,behavior,split\n' +
    'a,0,1,2,Light:switch on,train\na,1,1,2,Light:switch off,train\n' +
    'b,0,3,4,Television:switch on,test\nb,1,3,5,Television:switch off,test\n' +
    'c,0,3,4,Television:switch on,test\n';

  const fakeFetch = (routes: Record<string, () => Response>) => async (url: string) =>
    (routes[url] ?? (() => new Response('nope', { status: 404, statusText: 'Not Found' })))();

  it('uses the SmartThings test split (gunzipped) when it is served', async () => {
    const data = await loadReplayData(
      { smartThings: '/st.csv.gz', demo: '/demo.csv' },
      fakeFetch({ '/st.csv.gz': () => new Response(gzipSync(canonical)), '/demo.csv': () => new Response(demoText) }),
    );
    expect(data.source.kind).toBe('smartthings');
    // Only test sequences with something to predict.
    expect(data.sequences.map((s) => s.id)).toEqual(['b']);
  });

  it('falls back to the demo sequences with the reason', async () => {
    const data = await loadReplayData(
      { smartThings: '/st.csv.gz', demo: '/demo.csv' },
      fakeFetch({ '/demo.csv': () => new Response(demoText) }),
    );
    expect(data.source.kind).toBe('demo');
    expect(data.source.fallbackReason).toBe('/st.csv.gz: HTTP 404 Not Found');
    expect(data.sequences.length).toBe(6);
  });

  it('names being offline as the reason when the device is offline, whatever the failed request said', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    try {
      const data = await loadReplayData(
        { smartThings: '/st.csv.gz', demo: '/demo.csv' },
        fakeFetch({ '/demo.csv': () => new Response(demoText) }),
      );
      expect(data.source.kind).toBe('demo');
      expect(data.source.fallbackReason).toBe(OFFLINE_REASON);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('reports both failures when neither source loads', async () => {
    await expect(loadReplayData({ smartThings: '/st.csv.gz', demo: '/demo.csv' }, fakeFetch({}))).rejects.toThrow(
      /SmartThings data: .*404.*demo sequences: .*404/,
    );
  });

  it('ships demo sequences of 8–15 events whose behaviors the shipped model knows', () => {
    const log = parseBehaviorLog(demoText, 'demo-sequences.csv');
    expect(log.format).toBe('canonical');
    expect(log.sequences.length).toBe(6);
    expect(replayable(log.sequences).length).toBe(6);
    for (const s of log.sequences) {
      expect(s.events.length).toBeGreaterThanOrEqual(8);
      expect(s.events.length).toBeLessThanOrEqual(15);
    }
    const manifest = JSON.parse(readFileSync('public/models/behavegpt-us/model.json', 'utf8'));
    const known = new Set<string>(manifest.vocabulary.behaviors.tokens);
    expect(log.behaviors.filter((b) => !known.has(b))).toEqual([]);
  });
});

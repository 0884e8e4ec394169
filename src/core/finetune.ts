/**
 * Pure helpers of on-device fine-tuning (the Fine-tune tab, its worker and the CLI share them):
 * the train / validation / held-out split (the file's own, or by sequence), what an imported log
 * brings that the model does not know, the non-neural references of the comparison, fitting
 * the log to the model's location vocabulary, and the names an adapted model gets.
 */
import { behaviorCounts, fitMarkov, fitPopularity } from './baselines';
import { summarizeLog, type LogSummary, type ParsedLog } from './data';
import { rankTargets } from './evaluation';
import { UNKNOWN_LOCATION, deviceOf, type BehaviorSequence, type Split } from './events';
import { rankingMetrics, type MetricSet } from './metrics';
import { createRng, shuffle } from './random';
import { Vocabulary } from './vocab';

/** Shares of the usable sequences that go to the validation and held-out parts. */
export interface SplitFractions {
  /** Picks the epoch that is kept (0: no validation part, the last epoch is kept). */
  validationFraction: number;
  /** Scores the base and the adapted model for the before/after report; never used in training or selection. */
  heldOutFraction: number;
  seed: number;
}

/** Below this many usable sequences there is no validation part (training would keep too few). */
export const MIN_SEQUENCES_FOR_VALIDATION = 5;

/** What splitting looks at: a sequence's length and the file's split, if any (BehaviorSequence, or a SequenceRef into a packed log). */
export interface Splittable {
  events: { readonly length: number };
  split?: Split;
}

export interface FinetuneSplit<S extends Splittable = BehaviorSequence> {
  /** Sequences trained on. */
  train: S[];
  /** Sequences that pick the best epoch (early stopping); empty when too few sequences. */
  validation: S[];
  /** Sequences of the before/after report only. */
  heldOut: S[];
  /** Sequences of fewer than two events: they have no target, so they are in no part. */
  unused: S[];
  /** How the kept epoch is chosen: lowest validation loss, or the last epoch when there is no validation part. */
  selection: 'validation' | 'last-epoch';
  /** 'file': the file's own `split` column (train / valid / test); 'sequences': split here by whole sequence. */
  source: 'file' | 'sequences';
  /** Why the split is not three parts, or how the file's split was read (shown in the summary), or null. */
  note: string | null;
}

/**
 * The file's own split, when its sequences carry one (a `split` column): train is trained on,
 * valid picks the epoch, test is held out. Used only when it has train and test sequences;
 * otherwise null with the reason. Sequences without a split, or of a single event, are in no part.
 */
function fileSplit<S extends Splittable>(
  sequences: readonly S[],
): { split: FinetuneSplit<S> | null; reason: string | null } {
  const marked = sequences.filter((s) => s.split !== undefined);
  if (marked.length === 0) return { split: null, reason: null };
  const usable = marked.filter((s) => s.events.length >= 2);
  const part = (name: 'train' | 'valid' | 'test') => usable.filter((s) => s.split === name);
  const [train, validation, heldOut] = [part('train'), part('valid'), part('test')];
  if (train.length === 0 || heldOut.length === 0) {
    const missing = train.length === 0 ? 'train' : 'test';
    return { split: null, reason: `the file's split column marks no usable ${missing} sequences, so it is not used` };
  }
  const unmarked = sequences.length - marked.length;
  const notes = [
    validation.length === 0
      ? "the file's split marks no valid sequences: every epoch runs and the last one is kept"
      : null,
    unmarked > 0
      ? `${unmarked} sequence${unmarked === 1 ? ' has' : 's have'} no split and ${unmarked === 1 ? 'is' : 'are'} not used`
      : null,
  ].filter((n): n is string => n !== null);
  return {
    split: {
      train,
      validation,
      heldOut,
      unused: sequences.filter((s) => s.events.length < 2 || s.split === undefined),
      selection: validation.length > 0 ? 'validation' : 'last-epoch',
      source: 'file',
      note: notes.length ? notes.join('; ') : null,
    },
    reason: null,
  };
}

/**
 * Splits an imported log into train / validation / held-out. A file with its own `split`
 * column keeps it (train / valid / test; fileSplit), so a person's held-out part stays theirs.
 * Otherwise by whole sequences (never events
 * of one sequence), so nothing the report scores was seen in training or in choosing the
 * epoch, not even an earlier window of it. One seeded shuffle of the usable sequences
 * (two or more events): the first round(heldOutFraction × n) are held out (at least one), the
 * next round(validationFraction × n) are validation (at least one), the rest train (at least
 * one); file order is kept inside each part. Deterministic for a given seed, and the held-out
 * part does not depend on the validation share.
 *
 * Small imports: with fewer than MIN_SEQUENCES_FOR_VALIDATION usable sequences (or a
 * validation share of 0) there is no validation part: every epoch runs and the last one is
 * kept, and `note` says so. The held-out part is never used in its place. With fewer than two
 * usable sequences nothing can be held out: all are train, and a run cannot start.
 */
export function splitForFinetune<S extends Splittable = BehaviorSequence>(
  sequences: readonly S[],
  fractions: SplitFractions,
): FinetuneSplit<S> {
  const { validationFraction: fv, heldOutFraction: fh, seed } = fractions;
  if (!(fh > 0 && fh < 1)) throw new Error(`splitForFinetune: held-out fraction ${fh} is not in (0, 1)`);
  if (!(fv >= 0 && fv < 1 && fv + fh < 1))
    throw new Error(`splitForFinetune: validation fraction ${fv} is not in [0, ${1 - fh})`);
  const own = fileSplit(sequences);
  if (own.split) return own.split;
  const bySequence = splitBySequence(sequences, fv, fh, seed);
  const note = [own.reason, bySequence.note].filter((n): n is string => n !== null).join('; ');
  return { ...bySequence, note: note || null };
}

function splitBySequence<S extends Splittable>(
  sequences: readonly S[],
  fv: number,
  fh: number,
  seed: number,
): FinetuneSplit<S> {
  const usable = sequences.filter((s) => s.events.length >= 2);
  const unused = sequences.filter((s) => s.events.length < 2);
  const n = usable.length;
  if (n < 2) {
    return {
      train: usable,
      validation: [],
      heldOut: [],
      unused,
      selection: 'last-epoch',
      source: 'sequences',
      note: `${n} usable sequence${n === 1 ? '' : 's'}: at least two sequences of two or more events are needed, one to train on and one held out`,
    };
  }
  const heldCount = Math.min(n - 1, Math.max(1, Math.round(fh * n)));
  let validationCount = 0;
  let note: string | null = null;
  if (fv === 0) note = 'no validation part (switched off): every epoch runs and the last one is kept';
  else if (n < MIN_SEQUENCES_FOR_VALIDATION) {
    note =
      `only ${n} usable sequences, too few for a validation part (${MIN_SEQUENCES_FOR_VALIDATION} needed): every epoch runs and the last one ` +
      'is kept; the held-out part is used only for the before/after report';
  } else {
    validationCount = Math.min(n - heldCount - 1, Math.max(1, Math.round(fv * n)));
    if (validationCount === 0)
      note = 'the held-out share leaves no room for a validation part: every epoch runs and the last one is kept';
  }
  const order = shuffle(
    usable.map((_, i) => i),
    createRng(seed),
  );
  // Part of each usable sequence: 0 train, 1 validation, 2 held out (an array, not a Map: imports may have 10⁵ sequences).
  const part = new Uint8Array(n);
  for (const i of order.slice(0, heldCount)) part[i] = 2;
  for (const i of order.slice(heldCount, heldCount + validationCount)) part[i] = 1;
  return {
    train: usable.filter((_, i) => part[i] === 0),
    validation: usable.filter((_, i) => part[i] === 1),
    heldOut: usable.filter((_, i) => part[i] === 2),
    unused,
    selection: validationCount > 0 ? 'validation' : 'last-epoch',
    source: 'sequences',
    note,
  };
}

/** Behaviors of the log the model has never seen (matched by exact name), sorted. */
export function newBehaviors(behaviors: Iterable<string>, known: { has(name: string): boolean }): string[] {
  return [...new Set(behaviors)].filter((b) => !known.has(b)).sort();
}

/** The device of a `Device:action` name, or null for a name without that pattern. */
export function deviceOfName(behavior: string): string | null {
  const i = behavior.indexOf(':');
  return i > 0 ? deviceOf(behavior) : null;
}

/**
 * Below this share of a log's behaviors known to the model, the summary warns that the base
 * model's figures will be near zero (it can only name behaviors it knows).
 */
export const FEW_KNOWN_SHARE = 0.2;

/** How much of a log the model already knows, and how its new behaviors will start. */
export interface VocabularyOverlap {
  /** Distinct behaviors of the log and how many the model knows by exact name. */
  behaviors: number;
  knownBehaviors: number;
  /** Events of the log and how many have a known behavior. */
  events: number;
  knownEvents: number;
  /** New behaviors whose device (the part before ':') the model knows: they start like that device. */
  newWithKnownDevice: number;
  /** New behaviors without a `Device:` prefix, or of a device the model does not know: they start from the average behavior. */
  newWithoutKnownDevice: number;
}

/** How many events of each behavior, from its counts per name (core/baselines behaviorCounts, or packedBehaviorCounts). */
export function vocabularyOverlap(counts: ReadonlyMap<string, number>, known: ReadonlySet<string>): VocabularyOverlap {
  const devices = new Set([...known].map(deviceOfName).filter((d): d is string => d !== null));
  const overlap: VocabularyOverlap = {
    behaviors: counts.size,
    knownBehaviors: 0,
    events: 0,
    knownEvents: 0,
    newWithKnownDevice: 0,
    newWithoutKnownDevice: 0,
  };
  for (const [name, n] of counts) {
    overlap.events += n;
    if (known.has(name)) {
      overlap.knownBehaviors++;
      overlap.knownEvents += n;
    } else {
      const device = deviceOfName(name);
      if (device !== null && devices.has(device)) overlap.newWithKnownDevice++;
      else overlap.newWithoutKnownDevice++;
    }
  }
  return overlap;
}

export interface ImportSummary extends LogSummary {
  /** Names of behaviors the model does not know (those of the training part will be added to its vocabulary). */
  newBehaviors: string[];
  /** Events whose behavior is new. */
  newBehaviorEvents: number;
  /** Sequences long enough to train or evaluate on (at least two events). */
  usableSequences: number;
  overlap: VocabularyOverlap;
}

/** The parts of an import summary that depend on the model: what it knows of the log. */
export function compareWithModel(
  counts: ReadonlyMap<string, number>,
  known: ReadonlySet<string>,
): Pick<ImportSummary, 'newBehaviors' | 'newBehaviorEvents' | 'overlap'> {
  const overlap = vocabularyOverlap(counts, known);
  return {
    newBehaviors: newBehaviors(counts.keys(), known),
    newBehaviorEvents: overlap.events - overlap.knownEvents,
    overlap,
  };
}

export function summarizeImport(log: ParsedLog, known: ReadonlySet<string>): ImportSummary {
  return {
    ...summarizeLog(log),
    usableSequences: log.sequences.filter((s) => s.events.length >= 2).length,
    ...compareWithModel(behaviorCounts(log.sequences), known),
  };
}

/**
 * The non-neural references of the comparison, fitted on the training part only and scored on
 * the held-out part with the full-ranking protocol (core/evaluation.ts): a second-order Markov
 * chain and global popularity (core/baselines.ts). They rank the training part's behaviors; a
 * held-out behavior never seen in training is a miss, as it is for the models.
 */
export function scoreBaselines(
  train: readonly BehaviorSequence[],
  heldOut: readonly BehaviorSequence[],
): { 'markov-2': MetricSet; popularity: MetricSet } {
  const vocab = Vocabulary.fromNames(
    train.flatMap((s) => s.events.map((e) => e.behavior)),
    [],
  );
  const score = (scorer: ReturnType<typeof fitPopularity>) => rankingMetrics(rankTargets(scorer, heldOut, vocab));
  return { 'markov-2': score(fitMarkov(train, vocab, 2)), popularity: score(fitPopularity(train, vocab)) };
}

/**
 * Locations the model does not know become UNKNOWN_LOCATION: the location vocabulary is not
 * extended (the shipped model has no location stream; its target-location table knows only
 * the unknown place), so an unfamiliar place reads as "no place given".
 */
export function fitLocations(
  sequences: readonly BehaviorSequence[],
  known: { has(name: string): boolean },
): BehaviorSequence[] {
  return sequences.map((s) =>
    s.events.every((e) => known.has(e.location))
      ? s
      : { ...s, events: s.events.map((e) => (known.has(e.location) ? e : { ...e, location: UNKNOWN_LOCATION })) },
  );
}

/** `2026-12-07 14:03:22` in local time: sortable, readable, and seconds apart for two runs of one minute. */
export function formatStamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** A data name without folders and the extensions of a log (`/x/my-home.csv.gz` → `my-home`). */
export function dataStem(dataName: string): string {
  const file = dataName.split(/[\\/]/).pop() ?? dataName;
  return file.replace(/(\.(csv|tsv|txt|log))?(\.gz)?$/i, '') || file;
}

/**
 * The descriptive name of an adapted model: source, settings, when, and how it did on the held-out part, e.g.
 * `my-home · DRO lr 0.003 · 14 epochs (best 9) · seed 0 · 2026-12-07 14:03:22 · held-out R@5 88.1%`.
 */
export function adaptedModelName(o: {
  dataName: string;
  objective: string;
  learningRate: number;
  epochsRun: number;
  bestEpoch: number;
  seed: number;
  date: Date;
  heldOutRecall5: number | undefined;
  continued?: boolean;
}): string {
  const recall = o.heldOutRecall5 === undefined ? '' : ` · held-out R@5 ${(o.heldOutRecall5 * 100).toFixed(1)}%`;
  return (
    `${dataStem(o.dataName)} · ${o.objective.toUpperCase()} lr ${o.learningRate} · ${o.epochsRun} epochs (best ${o.bestEpoch})` +
    `${o.continued ? ', continued' : ''} · seed ${o.seed} · ${formatStamp(o.date)}${recall}`
  );
}

/**
 * The file-name stem of an exported model: `behavegpt-<data>-<yyyymmdd-hhmmss>-<id tail>`, safe
 * on every file system and distinct per model, so two exports in one folder do not collide.
 */
export function modelFileStem(o: { dataName: string; createdAt: number; id: string }): string {
  const clean = (s: string) =>
    s
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 40);
  const d = new Date(o.createdAt);
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  const tail = clean(o.id).slice(-6) || 'model';
  return ['behavegpt', clean(dataStem(o.dataName)) || 'data', stamp, tail].join('-');
}

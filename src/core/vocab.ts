/**
 * A vocabulary maps names to dense ids. Special tokens come first so that ids of real
 * behaviors are stable when a vocabulary is extended (new names are appended).
 */

import { countBy } from './counts';

export const PAD = '<pad>';
export const BOS = '<bos>';
export const UNK = '<unk>';

export interface VocabularyJSON {
  tokens: string[];
  /** Training-set frequency of each token (same order), used for head/tail splits. */
  counts?: number[];
}

export class Vocabulary {
  readonly tokens: readonly string[];
  readonly counts: readonly number[];
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[], counts?: readonly number[]) {
    const seen = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (seen.has(t)) throw new Error(`vocabulary: duplicate token "${t}" at ${seen.get(t)} and ${i}`);
      seen.set(t, i);
    });
    if (counts && counts.length !== tokens.length) {
      throw new Error(`vocabulary: ${counts.length} counts for ${tokens.length} tokens`);
    }
    this.tokens = [...tokens];
    this.counts = counts ? [...counts] : tokens.map(() => 0);
    this.index = seen;
  }

  /**
   * Builds a vocabulary from observed names: specials first, then names by descending
   * frequency (ties by name) so ids are deterministic for a given data set.
   */
  static fromNames(names: Iterable<string>, specials: readonly string[] = [PAD, BOS, UNK]): Vocabulary {
    const counts = countBy(names, (n) => n);
    for (const s of specials) counts.delete(s);
    const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return new Vocabulary(
      [...specials, ...sorted.map(([n]) => n)],
      [...specials.map(() => 0), ...sorted.map(([, c]) => c)],
    );
  }

  static fromJSON(json: VocabularyJSON): Vocabulary {
    if (!json || !Array.isArray(json.tokens) || json.tokens.some((t) => typeof t !== 'string')) {
      throw new Error('vocabulary: "tokens" must be a list of strings');
    }
    return new Vocabulary(json.tokens, json.counts);
  }

  toJSON(): VocabularyJSON {
    return { tokens: [...this.tokens], counts: [...this.counts] };
  }

  get size(): number {
    return this.tokens.length;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** Id of a name; unknown names map to `<unk>` when the vocabulary has it, else throw. */
  id(name: string): number {
    const i = this.index.get(name);
    if (i !== undefined) return i;
    const unk = this.index.get(UNK);
    if (unk !== undefined) return unk;
    throw new Error(`vocabulary: unknown token "${name}"`);
  }

  name(id: number): string {
    const t = this.tokens[id];
    if (t === undefined) throw new Error(`vocabulary: id ${id} out of range 0..${this.size - 1}`);
    return t;
  }

  /** True for ids that are not real behaviors (padding, start, unknown). */
  isSpecial(id: number): boolean {
    const t = this.tokens[id];
    return t === PAD || t === BOS || t === UNK;
  }

  /** A new vocabulary with `names` appended (those not already present), counts 0. */
  extend(names: Iterable<string>): Vocabulary {
    const added = [...new Set(names)].filter((n) => !this.index.has(n));
    return new Vocabulary([...this.tokens, ...added], [...this.counts, ...added.map(() => 0)]);
  }
}

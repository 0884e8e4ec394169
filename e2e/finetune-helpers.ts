/** Behavior logs and steps shared by the fine-tuning end-to-end tests. */
import { writeFileSync } from 'node:fs';
import { expect, type Page } from '@playwright/test';

export interface LogOptions {
  sequences: number;
  length?: number;
  /** Behavior names; a sequence cycles through them from an offset (learnable), or draws them at random. */
  names: readonly string[];
  pattern?: 'cycle' | 'random';
  /** Split column: every k-th sequence valid / test (by index), the rest train. */
  split?: boolean;
  seed?: number;
}

/** A canonical CSV of `sequences` sequences; with `split`, sequence i is test when i % 5 === 0, valid when i % 5 === 1. */
export function behaviorLog(o: LogOptions): string {
  const { sequences, length = 8, names, pattern = 'cycle', split = false } = o;
  let state = (o.seed ?? 1) >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const rows = [`sequence_id,step,weekday,time_slot,behavior${split ? ',split' : ''}`];
  for (let s = 0; s < sequences; s++) {
    const part = s % 5 === 0 ? 'test' : s % 5 === 1 ? 'valid' : 'train';
    for (let t = 0; t < length; t++) {
      const behavior = pattern === 'cycle' ? names[(s + t) % names.length] : names[Math.floor(random() * names.length)];
      rows.push(`seq-${s},${t},${(s + t) % 7},${(t * 3) % 8},${behavior}${split ? `,${part}` : ''}`);
    }
  }
  return `${rows.join('\n')}\n`;
}

export function writeLog(path: string, o: LogOptions): string {
  writeFileSync(path, behaviorLog(o));
  return path;
}

/** Names no model here knows, without a Device: prefix (another vendor's). */
export const VENDOR_NAMES = [
  'tv_on',
  'tv_off',
  'lamp_up',
  'lamp_down',
  'blind_open',
  'blind_close',
  'heat_on',
  'door_lock',
];

export async function importLog(page: Page, path: string): Promise<void> {
  await page.getByTestId('finetune-file').setInputFiles(path);
  await expect(page.getByTestId('finetune-summary')).toBeVisible();
}

export async function runToEnd(page: Page): Promise<void> {
  await page.getByTestId('finetune-start').click();
  await expect(page.getByTestId('finetune-status')).toHaveAttribute('data-status', 'done', { timeout: 170_000 });
}

/** The comparison's figure in a column ('after', 'before', 'markov', 'popularity', 'scratch'), as a number. */
export async function figure(page: Page, column: string, metric: string): Promise<number> {
  return Number(await page.getByTestId(`${column}-${metric}`).getAttribute('data-value'));
}

export const METRICS = ['weighted_recall@1', 'weighted_recall@5', 'macro_recall@1', 'macro_recall@5'] as const;

/** The messages between the page and the log-import worker (plain data; a packed log's buffers are transferred). */
import type { EpochUnit } from '../core/data';
import type { ImportSummary } from '../core/finetune';
import type { PackedLog } from '../core/packed-log';

/** Where the log comes from: a picked or dropped file, or a URL (a bundled data set). */
export type ImportSource = { kind: 'file'; file: File } | { kind: 'url'; url: string; name: string };

export interface ImportRequest {
  source: ImportSource;
  /** Behavior names the model knows: the summary counts the others as new. */
  known: string[];
  epochUnit: EpochUnit;
}

export type ImportReply =
  | { type: 'progress'; loaded: number; total: number }
  | { type: 'done'; log: PackedLog; summary: ImportSummary }
  | { type: 'error'; message: string };

/**
 * Models kept on this device in IndexedDB (raw API: one object store, a handful of calls): the
 * ones fine-tuned here and the ones opened from files. A record holds the model files exactly as
 * exported (model.json text + shards), so the app loads it with the same code as a downloaded model.
 */
import type { MetricSet } from '../core/metrics';

export const DB_NAME = 'behavegpt-adapted-models';
const STORE = 'models';
const VERSION = 1;

export interface AdaptedModelRecord {
  id: string;
  name: string;
  /** ms since the epoch. */
  createdAt: number;
  /** Where the training data came from (file name or bundled data set; '' when unknown). */
  dataName: string;
  manifestText: string;
  shards: ArrayBuffer[];
  /** Held-out figures of the base model and of this one (absent for an opened model without them). */
  metrics?: { before: MetricSet; after: MetricSet };
  /** Fine-tuned on this device, or opened from files (absent in records written before there were opened models: adapted). */
  origin?: 'adapted' | 'opened';
}

/** What the list shows: a record without its files. */
export type AdaptedModelInfo = Omit<AdaptedModelRecord, 'manifestText' | 'shards'> & { bytes: number };

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

let opened: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') return Promise.reject(new Error('IndexedDB is not available in this browser'));
  opened ??= new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, VERSION);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: 'id' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('could not open IndexedDB'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  }).catch((e: unknown) => {
    opened = null; // let a later call try again
    throw e;
  });
  return opened;
}

async function withStore<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  const tx = db.transaction(STORE, mode);
  const result = request(body(tx.objectStore(STORE)));
  // A write counts once the transaction has committed, not when its request succeeds.
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted (storage full?)'));
  });
  return result;
}

export function toInfo(record: AdaptedModelRecord): AdaptedModelInfo {
  const { manifestText, shards, ...info } = record;
  return { ...info, bytes: manifestText.length + shards.reduce((s, b) => s + b.byteLength, 0) };
}

export async function saveAdaptedModel(record: AdaptedModelRecord): Promise<void> {
  await withStore('readwrite', (s) => s.put(record));
}

/** Every stored model, newest first. */
export async function listAdaptedModels(): Promise<AdaptedModelInfo[]> {
  const all = await withStore('readonly', (s) => s.getAll() as IDBRequest<AdaptedModelRecord[]>);
  return all.map(toInfo).sort((a, b) => b.createdAt - a.createdAt);
}

export async function getAdaptedModel(id: string): Promise<AdaptedModelRecord | null> {
  return (await withStore('readonly', (s) => s.get(id) as IDBRequest<AdaptedModelRecord | undefined>)) ?? null;
}

export async function deleteAdaptedModel(id: string): Promise<void> {
  await withStore('readwrite', (s) => s.delete(id));
}

/** A fresh id: time plus randomness (no clash between tabs). */
export function newModelId(now = Date.now()): string {
  return `adapted-${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

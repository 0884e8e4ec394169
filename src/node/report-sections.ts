/**
 * docs/RESULTS.md is written by several commands: the next-behavior report is its unmarked head;
 * generation and adaptation each own a section between HTML-comment markers, so regenerating
 * one keeps the others.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const begin = (name: string) => `<!-- section:${name} -->`;
const end = (name: string) => `<!-- /section:${name} -->`;

/** The marked sections of a report, in order, markers included. */
export function markedSections(markdown: string): string[] {
  return [...markdown.matchAll(/<!-- section:([\w-]+) -->[\s\S]*?<!-- \/section:\1 -->/g)].map((m) => m[0]);
}

/** Replaces (or appends) section `name` of the file at `path`. */
export function writeSection(path: string, name: string, content: string): void {
  const block = `${begin(name)}\n${content.trim()}\n${end(name)}`;
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const start = old.indexOf(begin(name));
  const stop = old.indexOf(end(name));
  const next =
    start >= 0 && stop > start
      ? old.slice(0, start) + block + old.slice(stop + end(name).length)
      : `${old.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}

/** Replaces the head of the file at `path` (what is not in a marked section), keeping every marked section after it. */
export function writeHead(path: string, content: string): void {
  const kept = existsSync(path) ? markedSections(readFileSync(path, 'utf8')) : [];
  writeFileSync(path, `${[content.trimEnd(), ...kept].join('\n\n')}\n`);
}

/** Number and table formatting shared by the experiment reports (Markdown). Pure. */

/** A fraction as a percentage with two decimals, without the sign: 0.12345 → "12.35". */
export const pct = (x: number): string => (x * 100).toFixed(2);

/** A relative change with its sign and one decimal: 0.1234 → "+12.3%". */
export const signedPct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** An integer with thousands separators: 12345 → "12,345". */
export const thousands = (x: number): string => x.toLocaleString('en-US');

/** The date part of a timestamp: "2026-11-28". */
export const day = (date: Date): string => date.toISOString().slice(0, 10);

/** A Markdown table: header cells, a `|---|` rule, one line per row. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** Readable names of the SmartThings regions. */
export function regionName(dataset: string): string {
  return ({ us: 'US', sp: 'Spain', fr: 'France' } as Record<string, string>)[dataset] ?? dataset;
}

/** The title of a test target set. */
export function targetSetTitle(set: 'all' | 'no-refresh'): string {
  return set === 'all' ? 'all targets' : 'without `:refresh refresh` targets';
}

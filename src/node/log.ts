/** Console progress lines of the long-running commands. */

/** Prints a line with the wall-clock time (HH:MM:SS, UTC) in front. */
export function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** "4m05s", "42s"; "?" when not finite (an ETA before the first step). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

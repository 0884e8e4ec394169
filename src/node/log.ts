/** Console progress lines of the long-running commands. */

/** Prints a line with the wall-clock time (HH:MM:SS, UTC) in front. */
export function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/**
 * Writes the app's PNG icons from public/icons/icon.svg (src/node/icons.ts):
 *
 *   npm run icons
 */
import { writeIcons } from '../node/icons';
import { runIfMain } from './args';

export async function main(): Promise<void> {
  for (const { file, bytes } of writeIcons()) console.log(`wrote ${file} (${bytes} bytes)`);
}

runIfMain(import.meta.url, main);

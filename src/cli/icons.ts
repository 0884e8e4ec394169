/**
 * Writes the app's icons (web app manifest, touch icon) from public/icons/icon.svg with resvg:
 *
 *   npm run icons
 *
 * icon-192.png and icon-512.png as drawn; icon-maskable-512.png with the drawing inside the
 * central 80% safe zone on the background colour, so a launcher's mask never cuts it; and
 * apple-touch-icon.png (180 px).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { runIfMain } from './args';

export const ICON_DIR = 'public/icons';
/** The icon's background (also the manifest's theme colour). */
export const ICON_BACKGROUND = '#1f4e79';

function png(svg: string, size: number): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng();
}

export async function main(): Promise<void> {
  const svg = readFileSync(join(ICON_DIR, 'icon.svg'), 'utf8');
  const inner = svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '');
  const maskable = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" fill="${ICON_BACKGROUND}"/><g transform="translate(51.2 51.2) scale(0.8)">${inner}</g></svg>`;
  const files: [string, Buffer][] = [
    ['icon-192.png', png(svg, 192)],
    ['icon-512.png', png(svg, 512)],
    ['icon-maskable-512.png', png(maskable, 512)],
    ['apple-touch-icon.png', png(maskable, 180)],
  ];
  for (const [name, bytes] of files) {
    writeFileSync(join(ICON_DIR, name), bytes);
    console.log(`wrote ${join(ICON_DIR, name)} (${bytes.length} bytes)`);
  }
}

runIfMain(import.meta.url, main);

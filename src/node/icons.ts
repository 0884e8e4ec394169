/**
 * The app's icons (web app manifest, touch icon), drawn from public/icons/icon.svg with resvg:
 * icon-192.png and icon-512.png as drawn; icon-maskable-512.png with the drawing inside the
 * central 80% safe zone on the background colour, so a launcher's mask never cuts it; and
 * apple-touch-icon.png (180 px).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';

export const ICON_DIR = 'public/icons';
/** The icon's background (also the manifest's theme colour). */
export const ICON_BACKGROUND = '#1f4e79';

function png(svg: string, size: number): Buffer {
  return new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng();
}

/** Writes the PNG icons beside icon.svg; returns each file with its size in bytes. */
export function writeIcons(dir = ICON_DIR): { file: string; bytes: number }[] {
  const svg = readFileSync(join(dir, 'icon.svg'), 'utf8');
  const inner = svg.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '');
  const maskable = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" fill="${ICON_BACKGROUND}"/><g transform="translate(51.2 51.2) scale(0.8)">${inner}</g></svg>`;
  const files: [string, Buffer][] = [
    ['icon-192.png', png(svg, 192)],
    ['icon-512.png', png(svg, 512)],
    ['icon-maskable-512.png', png(maskable, 512)],
    ['apple-touch-icon.png', png(maskable, 180)],
  ];
  return files.map(([name, bytes]) => {
    writeFileSync(join(dir, name), bytes);
    return { file: join(dir, name), bytes: bytes.length };
  });
}

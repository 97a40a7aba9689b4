// Shared helpers: launch Debian's Chromium through playwright-core, open the app, read pixels.
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { mkdirSync } from 'node:fs';

export const URL_BASE = process.env.FLOWSCOPE_URL ?? 'http://127.0.0.1:8080/';
export const OUT = process.env.E2E_OUT ?? new URL('../../target/e2e/', import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });

/** Headless Chromium; `webgpu` adds the flag that exposes SwiftShader's WebGPU adapter. */
export async function launch({ webgpu }) {
  const args = [
    '--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
}

/** Opens the app and waits until a simulation runs; collects page errors for the caller. */
export async function openApp(browser, path = '') {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(URL_BASE + path);
  await page.waitForFunction(() => window.flowscope && window.flowscope.state().backend !== undefined
    && window.flowscope.state().backend !== null, null, { timeout: 60_000 });
  return { page, errors };
}

/** Decoded RGBA pixels of the viewport canvas as it appears on screen. */
export async function canvasPixels(page) {
  const png = PNG.sync.read(await page.getByTestId('viewport-canvas').screenshot());
  return png;
}

export function differingPixels(a, b) {
  let count = 0;
  for (let k = 0; k < Math.min(a.data.length, b.data.length); k += 4) {
    if (Math.abs(a.data[k] - b.data[k]) + Math.abs(a.data[k + 1] - b.data[k + 1]) + Math.abs(a.data[k + 2] - b.data[k + 2]) > 6) count++;
  }
  return count;
}

/** Number of distinct colours (coarsely binned): a blank canvas has one or two. */
export function distinctColours(png) {
  const seen = new Set();
  for (let k = 0; k < png.data.length; k += 4) {
    seen.add((png.data[k] >> 3) << 10 | (png.data[k + 1] >> 3) << 5 | (png.data[k + 2] >> 3));
  }
  return seen.size;
}

/** A PNG data URL (what `snapshot()` returns), decoded. */
export function decodePng(url) {
  return PNG.sync.read(Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64'));
}

/** How closely `picture` (a snapshot) matches `screen` (the canvas as on screen): the fraction
 * of pixels within a small colour distance (cell edges of a pixelated view may fall one pixel
 * apart), at the best of the offsets up to 12 px (a 1D case's picture has a margin around its
 * strip), on every other pixel. */
export function matchingFraction(picture, screen) {
  let best = 0;
  for (let oy = 0; oy <= 12; oy++) {
    for (let ox = 0; ox <= 12; ox++) {
      const [w, h] = [Math.min(picture.width - ox, screen.width), Math.min(picture.height - oy, screen.height)];
      let [close, all] = [0, 0];
      for (let y = 0; y < h; y += 2) {
        for (let x = 0; x < w; x += 2) {
          const a = ((y + oy) * picture.width + x + ox) * 4;
          const b = (y * screen.width + x) * 4;
          const d = Math.abs(picture.data[a] - screen.data[b]) + Math.abs(picture.data[a + 1] - screen.data[b + 1])
            + Math.abs(picture.data[a + 2] - screen.data[b + 2]);
          all++;
          if (d <= 30) close++;
        }
      }
      best = Math.max(best, close / all);
    }
  }
  return best;
}

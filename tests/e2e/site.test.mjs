// The built site as a deployer sees it: any base path, and the rungs below the GPU ladder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './browser.mjs';

test('the site works from a nested base path (relative URLs only)', async (t) => {
  const nested = process.env.FLOWSCOPE_NESTED_URL;
  assert.ok(nested, 'FLOWSCOPE_NESTED_URL is set by cargo xtask test');
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400) failed.push(r.url()); });
  await page.goto(nested);
  await page.waitForFunction(() => window.flowscope?.state().backend === 'cpu', null, { timeout: 60_000 });
  assert.deepEqual(failed, []);
});

test('a browser without WebAssembly gets a clear message, not a blank page', async (t) => {
  const browser = await launch({ webgpu: false });
  t.after(() => browser.close());
  const page = await browser.newPage();
  // Simulates such a browser: the global is gone before any page script runs.
  await page.addInitScript(() => { delete globalThis.WebAssembly; });
  await page.goto(process.env.FLOWSCOPE_URL ?? 'http://127.0.0.1:8080/');
  await page.getByTestId('fatal-message').waitFor();
  assert.match(await page.getByTestId('fatal-message').innerText(), /cannot run WebAssembly/);
});

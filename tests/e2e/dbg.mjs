import { launch, openApp, canvasPixels, distinctColours } from './browser.mjs';
const browser = await launch({ webgpu: true });
const { page, errors } = await openApp(browser, '?backend=webgpu&display=readback');
await page.getByTestId('case-card-smoke-plume').click();
await page.waitForFunction(() => window.flowscope.state().case === 'smoke-plume');
await page.evaluate(() => window.flowscope.pause());
const s = await page.evaluate(() => window.flowscope.step(6));
console.log(JSON.stringify(s).slice(0, 300));
for (const w of [300, 1000, 3000]) { await page.waitForTimeout(w); console.log(w, distinctColours(await canvasPixels(page))); }
await page.screenshot({ path: '/tmp/smoke-webgpu.png' });
console.log(await page.getByTestId('gpu-status').innerText().catch(() => ''), errors);
await browser.close();

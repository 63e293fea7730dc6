// Opens one page in Debian's headless Chromium at 360 px wide, saves a screenshot, and
// runs axe-core on it: prints the violations and exits 1 on any serious or critical one.
// A check by hand of a page the gateway serves, and the pattern the browser tests follow.
//
//   npm ci --prefix tests/browser
//   node tests/browser/smoke.mjs http://127.0.0.1:8080/app/ target/screenshots/landing.png
//
// CHROMIUM (default /usr/bin/chromium) names another browser binary.
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const [url, screenshot = 'target/screenshots/smoke.png'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node smoke.mjs URL [SCREENSHOT.png]');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 1 });
  // The app's Content-Security-Policy refuses inline scripts, axe's among them.
  await page.setBypassCSP(true);
  const response = await page.goto(url, { waitUntil: 'networkidle0' });
  await page.evaluateHandle('document.fonts.ready');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  console.log(JSON.stringify({
    url,
    status: response?.status(),
    screenshot,
    horizontal_overflow_px: overflow,
    axe: result.testEngine.version,
    violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })),
  }, null, 2));
  const blocking = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  process.exitCode = blocking.length > 0 || overflow > 0 ? 1 : 0;
} finally {
  await browser.close();
}

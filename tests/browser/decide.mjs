// A district officer decides a pair of records in a real browser (Debian's headless
// Chromium at 360 px): signed in through the demo's link, the review queue, a pair's
// two records side by side with each field's weight, "different" with a note, the
// decision shown. Each page is checked with axe-core and must fit the screen (its
// tables too). Screenshots go to SCREENSHOTS.
//
//   node tests/browser/decide.mjs SIGN_IN_LINK SCREENSHOTS_DIR
//
// Prints one JSON line with what it saw (the decided pair's id in `pair`); exits 1 on
// any failed check.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const [link, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: node decide.mjs SIGN_IN_LINK SCREENSHOTS_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const seen = { axe: {}, overflow: {} };
const fail = (why) => {
  throw new Error(why);
};

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20000);
  await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 1 });
  // The pages forbid inline scripts (CSP): let axe in for the checks.
  await page.setBypassCSP(true);

  const axe = async (name) => {
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(() => globalThis.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }));
    seen.axe[name] = result.violations.map((v) => `${v.id}:${v.impact}:${v.nodes.length}`);
    const blocking = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (blocking.length) fail(`${name}: axe ${JSON.stringify(seen.axe[name])}`);
  };
  // How far the page, or any table in its scrolling box, runs past the screen.
  const fits = async (name) => {
    await page.evaluateHandle('document.fonts.ready');
    const over = await page.evaluate(() => Math.max(
      document.documentElement.scrollWidth - window.innerWidth,
      ...[...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth),
    ));
    seen.overflow[name] = over;
    if (over > 0) fail(`${name} is ${over} px wider than 360 px`);
  };
  const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

  // The demo's link signs the officer in and lands on the app's first page.
  await page.goto(link, { waitUntil: 'networkidle0' });
  if (!new URL(page.url()).pathname.startsWith('/app/')) fail(`after sign-in at ${page.url()}`);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('a[href="/app/matches"]')]);

  // The queue.
  await fits('matches');
  await shot('matches');
  await axe('matches');
  const first = await page.$eval('.pair-card a', (a) => a.getAttribute('href'));
  seen.pair = first.split('/').pop();
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('.pair-card a')]);

  // The pair, side by side; keyboard only from here: the choice and the note.
  seen.fonts = await page.evaluate(() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => `${f.family} ${f.weight}`));
  if (!seen.fonts.some((f) => f.startsWith('Noto Sans Khmer'))) fail(`no Khmer font: ${seen.fonts}`);
  await fits('match');
  await shot('match');
  await axe('match');
  await page.focus('#decision-different');
  await page.keyboard.press('Space');
  if (!(await page.$eval('#decision-different', (i) => i.checked))) fail('the keyboard did not choose');
  await page.focus('#decision-note');
  await page.keyboard.type('ឈ្មោះខុសគ្នា');
  await page.focus('.decide button[type=submit]');
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.keyboard.press('Enter')]);
  seen.decision = await page.$eval('#decision', (d) => d.innerText);
  if (!seen.decision.includes('Different people')) fail(`decision shown: ${seen.decision}`);
  await fits('match-decided');
  await shot('match-decided');
  await axe('match-decided');
  console.log(JSON.stringify({ ok: true, ...seen }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), ...seen }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

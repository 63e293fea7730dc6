// A site head's month in a real browser (Debian's headless Chromium at 360 px):
// sign in through the OpenID provider's form, open this month's roster, check it with
// axe-core, send a roster online, then go offline, make another, see it wait in the
// outbox, come back online and see it sent (once). Screenshots go to SCREENSHOTS.
//
//   node tests/browser/roster.mjs GATEWAY_URL USERNAME PASSWORD SCREENSHOTS_DIR
//
// Prints one JSON line with what it saw; exits 1 on any failed check.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const [gateway, username, password, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: node roster.mjs GATEWAY_URL USERNAME PASSWORD SCREENSHOTS_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const seen = { axe: {}, states: {} };
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
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const states = () => page.$$eval('#outbox > li', (items) => items.map((li) => li.dataset.state));
  const waitForStates = async (want) => {
    const deadline = Date.now() + 20000;
    for (;;) {
      const now = await states();
      if (JSON.stringify(now) === JSON.stringify(want)) return now;
      if (Date.now() > deadline) fail(`outbox ${JSON.stringify(now)}, wanted ${JSON.stringify(want)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  // Sign in through the provider.
  await page.goto(`${gateway}/app/`, { waitUntil: 'networkidle0' });
  await page.screenshot({ path: `${shots}/landing.png`, fullPage: true });
  await axe('landing');
  await Promise.all([page.waitForNavigation(), page.click('a[href="/app/auth/sign-in"]')]);
  await page.type('#username', username);
  await page.type('#password', password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('#login button[type=submit]')]);
  if (!page.url().startsWith(`${gateway}/app/`)) fail(`after sign-in at ${page.url()}`);

  // This month's roster, kept by the service worker once it controls the page.
  await page.goto(`${gateway}/app/roster`, { waitUntil: 'networkidle0' });
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload({ waitUntil: 'networkidle0' });
  if (!(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)))) fail('no service worker');
  await page.evaluateHandle('document.fonts.ready');
  seen.fonts = await page.evaluate(() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => `${f.family} ${f.weight}`));
  seen.overflow = await overflow();
  if (seen.overflow > 0) fail(`the roster page is ${seen.overflow} px wider than 360 px`);
  await page.screenshot({ path: `${shots}/roster.png`, fullPage: true });
  await axe('roster');

  // Online: one present, sent at once.
  await page.click('label[for="e0-present"]');
  await page.click('#roster-form button[type=submit]');
  seen.states.online = await waitForStates(['sent']);

  // Offline: the page opens from the device, the roster waits in the outbox.
  await page.setOfflineMode(true);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#roster-form');
  await page.click('label[for="e0-present"]');
  await page.click('label[for="e1-absent"]');
  await page.select('#e1-reason', 'on_leave');
  await page.type('#e1-note', 'ដល់ខែមីនា');
  await page.click('#roster-form button[type=submit]');
  seen.states.offline = await waitForStates(['waiting', 'sent']);
  await page.screenshot({ path: `${shots}/roster-offline.png`, fullPage: true });

  // Back online: sent, and the earlier one superseded.
  await page.setOfflineMode(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  seen.states.back_online = await waitForStates(['sent', 'superseded']);
  await page.screenshot({ path: `${shots}/roster-sent.png`, fullPage: true });
  await axe('roster-outbox');
  console.log(JSON.stringify({ ok: true, ...seen }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), ...seen }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

// What the district and province browser tests share: Debian's headless Chromium at
// 360 px, signing in through the OpenID provider's form, axe-core, overflow.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const fail = (why) => {
  throw new Error(why);
};

export async function launch(shots) {
  mkdirSync(shots, { recursive: true });
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// A 360 px page in `context` (a browser or one of its contexts).
export async function phone(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 1 });
  // The pages forbid inline scripts (CSP): let axe in for the checks.
  await page.setBypassCSP(true);
  return page;
}

export async function signIn(page, gateway, username, password) {
  await page.goto(`${gateway}/app/`, { waitUntil: 'networkidle0' });
  await Promise.all([page.waitForNavigation(), page.click('a[href="/app/auth/sign-in"]')]);
  await page.type('#username', username);
  await page.type('#password', password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('#login button[type=submit]')]);
  if (!page.url().startsWith(`${gateway}/app/`)) fail(`after sign-in at ${page.url()}`);
}

// axe-core on the page as it is: the violations by id, impact and count; any serious
// or critical one fails.
export async function axe(page, name, seen) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  seen.axe[name] = result.violations.map((v) => `${v.id}:${v.impact}:${v.nodes.length}`);
  const blocking = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (blocking.length) fail(`${name}: axe ${JSON.stringify(seen.axe[name])}`);
}

// The page checked and kept: fonts loaded, nothing wider than the screen, a
// screenshot of all of it, axe.
export async function check(page, name, shots, seen) {
  await page.evaluateHandle('document.fonts.ready');
  seen.fonts[name] = await page.evaluate(() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => `${f.family} ${f.weight}`));
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  seen.overflow[name] = overflow;
  if (overflow > 0) {
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
      .slice(0, 5)
      .map((e) => `${e.tagName}.${e.className}`));
    fail(`${name} is ${overflow} px wider than 360 px: ${wide.join(', ')}`);
  }
  await axe(page, name, seen);
}

export const newSeen = () => ({ axe: {}, fonts: {}, overflow: {} });

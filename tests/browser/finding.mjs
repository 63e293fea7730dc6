// "Explain a finding", in Debian's headless Chromium at 360 px: a district officer
// opens the open findings, one finding, chooses "explain" with a reason and a note in
// Khmer, saves, and sees it explained. Screenshots (findings, finding) go to
// SCREENSHOTS, each page checked with axe-core.
//
//   node tests/browser/finding.mjs GATEWAY OFFICER PASSWORD SCREENSHOTS
//
// Prints one JSON line with what it saw; exits 1 on any failed check.
import { launch, phone, signIn, check, fail, newSeen } from './area.mjs';

const [gateway, officerName, officerPassword, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: node finding.mjs GATEWAY OFFICER PASSWORD SCREENSHOTS');
  process.exit(2);
}
const seen = newSeen();
const browser = await launch(shots);
try {
  const page = await phone(browser);
  seen.step = 'sign-in';
  await signIn(page, gateway, officerName, officerPassword);
  seen.step = 'findings';
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('a[href="/app/findings"]')]);
  seen.step = 'filter';
  await page.click('details.filters summary');
  await page.select('#f-state', 'open');
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('details.filters button[type=submit]')]);
  await check(page, 'findings', shots, seen);
  seen.finding = await page.$eval('.finding-card', (li) => li.dataset.id);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('.finding-card a')]);
  seen.state_before = await page.$eval('#finding-state', (s) => s.dataset.state);
  if (seen.state_before !== 'open') fail(`the finding is ${seen.state_before}`);

  seen.step = 'explain';
  await page.click('label[for="action-explain"]');
  await page.select('#reason', 'on_leave');
  await page.type('#note', 'ឈប់សម្រាកលំហែមាតុភាព ដល់ខែមីនា');
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('#triage-form button[type=submit]')]);
  seen.state_after = await page.$eval('#finding-state', (s) => s.dataset.state);
  if (seen.state_after !== 'explained') fail(`the finding is ${seen.state_after}`);
  seen.reason = await page.$eval('#finding-reason', (s) => s.textContent);
  await check(page, 'finding', shots, seen);
  console.log(JSON.stringify({ ok: true, ...seen }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), ...seen }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

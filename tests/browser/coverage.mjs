// "See the coverage change", in Debian's headless Chromium at 360 px: a district
// officer opens their district's coverage and drills to a commune, where a health
// facility has not reported; its head (in a browser of their own) sends this month's
// roster; the officer reloads and sees the facility reported, its staff marked
// present, and the district's count of health sites reporting one higher.
// Screenshots (coverage-commune, facility, coverage) go to SCREENSHOTS, each page
// checked with axe-core.
//
//   node tests/browser/coverage.mjs GATEWAY OFFICER OFFICER_PASSWORD HEAD HEAD_PASSWORD COMMUNE FACILITY SCREENSHOTS
//
// Prints one JSON line with what it saw; exits 1 on any failed check.
import { launch, phone, signIn, check, fail, newSeen } from './area.mjs';

const [gateway, officerName, officerPassword, headName, headPassword, commune, facility, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: node coverage.mjs GATEWAY OFFICER PASSWORD HEAD PASSWORD COMMUNE FACILITY SCREENSHOTS');
  process.exit(2);
}
const seen = newSeen();
const browser = await launch(shots);
try {
  const officer = await phone(browser);
  await signIn(officer, gateway, officerName, officerPassword);
  await officer.goto(`${gateway}/app/coverage`, { waitUntil: 'networkidle0' });
  const healthReporting = () => officer.$eval('.tile.health strong', (s) => Number(s.dataset.value));
  seen.before = await healthReporting();

  // Down to the commune: the facility has not reported.
  await Promise.all([officer.waitForNavigation({ waitUntil: 'networkidle0' }), officer.click(`tr[data-code="${commune}"] th a`)]);
  const reported = () => officer.$eval(`a[href^="/app/facilities/${facility}"]`, (a) => a.closest('li').querySelector('[data-reported]').dataset.reported);
  seen.facility_before = await reported();
  if (seen.facility_before !== 'none') fail(`the facility reported already: ${seen.facility_before}`);

  // The head sends this month's roster from their own phone.
  const context = await browser.createBrowserContext();
  const head = await phone(context);
  await signIn(head, gateway, headName, headPassword);
  await head.goto(`${gateway}/app/roster`, { waitUntil: 'networkidle0' });
  await head.click('label[for="e0-present"]');
  await head.click('label[for="e1-present"]');
  await head.click('#roster-form button[type=submit]');
  const deadline = Date.now() + 20000;
  for (;;) {
    const states = await head.$$eval('#outbox > li', (items) => items.map((li) => li.dataset.state));
    if (JSON.stringify(states) === '["sent"]') break;
    if (Date.now() > deadline) fail(`the roster is ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await context.close();

  // The officer's commune page now shows it, and the facility's staff as marked.
  await officer.reload({ waitUntil: 'networkidle0' });
  seen.facility_after = await reported();
  if (seen.facility_after !== '2') fail(`the facility shows ${seen.facility_after} present`);
  await check(officer, 'coverage-commune', shots, seen);
  await Promise.all([officer.waitForNavigation({ waitUntil: 'networkidle0' }), officer.click(`a[href^="/app/facilities/${facility}"]`)]);
  seen.present = await officer.$$eval('[data-month="present"]', (cards) => cards.length);
  if (seen.present !== 2) fail(`${seen.present} people shown present`);
  await check(officer, 'facility', shots, seen);

  // And the district counts one more health site reporting.
  await officer.goto(`${gateway}/app/coverage`, { waitUntil: 'networkidle0' });
  seen.after = await healthReporting();
  if (seen.after !== seen.before + 1) fail(`health sites reporting ${seen.before} then ${seen.after}`);
  await check(officer, 'coverage', shots, seen);
  console.log(JSON.stringify({ ok: true, ...seen }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), ...seen }));
  process.exitCode = 1;
} finally {
  await browser.close();
}

// The browser's side of e2e/admin's Go test: Playwright drives Debian's
// Chromium through Herald's admin UI and photographs every page. It tells
// the Go side what it saw with "@@ <event> <json>" lines on standard output
// and reads its answers on standard input. Any failed step throws, and the
// exit code says so.
import assert from 'node:assert/strict';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const base = process.env.HERALD_URL;
const password = process.env.ADMIN_PASSWORD;
const shots = process.env.SHOTS_DIR;
const tag = process.env.TAG;
const members = Number(process.env.TAG_MEMBERS);
assert.ok(base && password && shots && tag && members, 'HERALD_URL, ADMIN_PASSWORD, SHOTS_DIR, TAG and TAG_MEMBERS are set by the Go test');

const lines = readline.createInterface({ input: process.stdin });
const input = lines[Symbol.asyncIterator]();
async function answer() {
  const { value, done } = await input.next();
  assert.ok(!done, 'the Go test closed its side');
  return value;
}
const say = (event, value) => process.stdout.write(`@@ ${event} ${JSON.stringify(value)}\n`);
const step = (what) => process.stdout.write(`${new Date().toISOString()} ${what}\n`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // As the machine's notes say: no sandbox as root, and nothing that calls home.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const shot = async (name, p = page) => {
    await p.screenshot({ path: path.join(shots, name), fullPage: true, animations: 'disabled' });
    step(`screenshot ${name}`);
  };

  step('log in');
  await page.goto(`${base}/admin/`);
  assert.match(page.url(), /\/admin\/login\?next=/);
  await shot('login.png');
  await page.getByLabel('Operator password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('That password is not right.').waitFor();
  await page.getByLabel('Operator password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${base}/admin/apps`);
  errors.length = 0; // the wrong password's 401 was meant

  step('create an app');
  await page.getByLabel(/^Name/).fill('Demo shop');
  await page.getByRole('button', { name: 'Create app' }).click();
  await page.getByText('Copy these now.').waitFor();
  const cred = (name) => page.locator(`[data-credential="${name}"]`).first().textContent();
  const app = { id: await cred('id'), api_key: await cred('api_key'), vapid_public_key: await cred('vapid_public_key') };
  await shot('app-created.png');
  say('app', app);
  assert.equal(await answer(), 'registered');

  step('the app and its subscribers');
  await page.getByRole('link', { name: 'I have saved them: go to the app' }).click();
  await page.waitForURL(`${base}/admin/apps/${app.id}`);
  await page.getByText(`${tag} · ${members}`).waitFor();
  assert.ok((await page.content()).includes(app.vapid_public_key), 'the app page shows the VAPID key');
  assert.ok(!(await page.content()).includes(app.api_key), 'the app page does not show the API key again');
  await shot('app.png');
  const appNav = page.getByRole('navigation', { name: 'App Demo shop' });
  await appNav.getByRole('link', { name: 'Subscribers' }).click();
  await page.locator(`[data-matching="${members + 1}"]`).waitFor();
  await page.getByLabel('Tag', { exact: true }).fill(tag);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator(`[data-matching="${members}"]`).waitFor();
  await shot('subscribers.png');

  step('compose to the tag, with the live count');
  await page.getByRole('link', { name: `Send to tag ${tag}` }).click();
  await page.locator(`#audience-count[data-count="${members}"]`).waitFor();
  await page.getByLabel('Any of the tags').fill(`${tag}, sports`);
  await page.locator(`#audience-count[data-count="${members + 1}"]`).waitFor();
  await page.getByLabel('Any of the tags').fill(`${tag}, nobody`);
  await page.locator(`#audience-count[data-count="${members}"]`).waitFor();
  await page.getByLabel('Title', { exact: true }).fill('Flash sale');
  await page.getByLabel('Body', { exact: true }).fill('Everything is 20% off until midnight.');
  await page.getByLabel(/^Link/).fill('https://shop.example/sale');
  await page.getByLabel('Language 1', { exact: true }).fill('fa');
  await page.getByLabel('Title, language 1').fill('حراج');
  await page.getByLabel('Body, language 1').fill('همه چیز ۲۰٪ تخفیف تا نیمه‌شب.');
  await shot('compose.png');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.waitForURL(/\/messages\/\d+$/);
  const msgID = page.url().split('/').pop();
  say('message', msgID);

  step('watch the counts arrive');
  await page.locator('[data-counter="sent"]', { hasText: String(members) }).waitFor({ timeout: 60000 });
  await page.locator('[data-counter="state"]', { hasText: 'done' }).waitFor();
  await page.locator('#chart rect.sent').first().waitFor();
  assert.equal(await page.locator('[data-counter="targeted"]').textContent(), String(members));
  await shot('message.png');

  step('the other pages');
  await appNav.getByRole('link', { name: 'Messages' }).click();
  await page.getByRole('link', { name: msgID, exact: true }).waitFor();
  await shot('messages.png');
  step('a segment, with the live count');
  await appNav.getByRole('link', { name: 'Segments' }).click();
  await page.getByText('No segments yet.').waitFor();
  await page.getByRole('link', { name: 'New segment' }).click();
  await page.locator(`#audience-count[data-count="${members + 1}"]`).waitFor();
  await page.getByLabel(/^Name/).fill('buyers');
  await page.getByLabel(/^Title/).fill('Sale shoppers');
  await page.getByLabel('Any of the tags').fill(tag);
  await page.locator(`#audience-count[data-count="${members}"]`).waitFor();
  await page.getByLabel(/^Active within/).fill('7d');
  assert.deepEqual(errors, [], 'the pages logged no errors before the refused window');
  await page.getByLabel(/^Clicked within/).fill('soon');
  await page.locator('#audience-count.bad').waitFor();
  errors.length = 0; // the refused window's 400 was meant
  await page.getByLabel(/^Clicked within/).fill('');
  await page.locator(`#audience-count[data-count="${members}"]`).waitFor();
  await shot('segment.png');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText('Segment buyers saved.').waitFor();
  assert.equal(await page.locator('[data-segment-count="buyers"]').textContent(), String(members));
  await shot('segments.png');
  await appNav.getByRole('link', { name: 'Compose' }).click();
  await page.locator('input[name="segments"][value="buyers"]').check();
  await page.locator('input[name="target"][value="filter"]').check();
  await page.locator(`#audience-count[data-count="${members}"]`).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Apps' }).click();
  await page.getByRole('link', { name: 'Demo shop' }).waitFor();
  await shot('apps.png');

  step('on a phone');
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    locale: 'en-US', timezoneId: 'UTC', storageState: await context.storageState() });
  const small = await phone.newPage();
  await small.goto(`${base}/admin/apps/${app.id}/messages/${msgID}`);
  await small.locator('#chart rect.sent').first().waitFor();
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the message page is ${overflow}px wider than a phone`);
  await shot('message-phone.png', small);
  await phone.close();

  step('log out');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByText('You are logged out.').waitFor();
  await page.goto(`${base}/admin/apps`);
  assert.match(page.url(), /\/admin\/login/);

  assert.deepEqual(errors, [], 'the pages logged no errors');
  say('done', true);
} finally {
  await browser.close();
  lines.close(); // standard input would keep node running
  process.stdin.destroy();
}

// Recovery codes: got on Security info (shown once, with Copy and Download), used at the code
// step in place of the authenticator app's code, refused the second time; and the same without
// the WebAssembly (the codes are the answer page itself, the steps are links and plain forms).
import AxeBuilder from '@axe-core/playwright';
import { test, expect, readyUser, startOtherSite, ADMIN, pageWithoutScripts, type LatchkeyServer } from './fixtures';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from '@playwright/test';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

/** axe-core finds nothing on the page as it is now. */
async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

/** Three groups of five from the alphabet without look-alikes (no 0/o, 1/l/i). */
const CODE = /^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/;

/** The recovery codes' row of Security info's methods. */
function codesRow(page: Page) {
  return page.getByRole('list', { name: 'Your sign-in methods' }).getByRole('listitem').filter({ hasText: 'Recovery codes' });
}

/** The codes shown in the dialog's text area, one a line. */
async function shownCodes(page: Page): Promise<string[]> {
  const box = page.getByRole('dialog', { name: 'Recovery codes' }).getByLabel('Your recovery codes');
  await expect(box).toHaveAttribute('readonly', '');
  const codes = (await box.inputValue()).split('\n').filter((line) => line.trim() !== '');
  expect(codes).toHaveLength(10);
  for (const code of codes) expect(code).toMatch(CODE);
  expect(new Set(codes).size).toBe(10);
  return codes;
}

/** From the sign-in page: name, password, then "Use a recovery code" and `code`. */
async function signInWithRecoveryCode(page: Page, server: LatchkeyServer, code: string) {
  await page.goto(server.baseURL + '/signin');
  await page.getByLabel('Sign-in name').fill(ADMIN.username);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Enter code' })).toBeVisible();
  await page.getByRole('link', { name: 'Use a recovery code' }).click();
  await expect(page.getByRole('heading', { name: 'Enter a recovery code' })).toBeVisible();
  await expect(page).toHaveURL(/\/signin\?step=recovery_code/);
  await page.getByLabel('Recovery code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

/** A browser context of its own that runs no JavaScript, at the sign-in page. */
async function browserWithoutScripts(browser: Browser) {
  const context = await browser.newContext({ javaScriptEnabled: false });
  return context.newPage();
}

test('get recovery codes, copy and download them, sign in with one, and see it refused the second time', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  const row = codesRow(page);
  await expect(row).toContainText('None yet');

  await row.getByRole('button', { name: 'Get codes' }).click();
  const dialog = page.getByRole('dialog', { name: 'Recovery codes' });
  await expect(dialog).toBeVisible();
  // Signed in a moment ago: no password asked.
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveCount(0);
  await noViolations(page, 'recovery codes: get new codes');
  await dialog.getByRole('button', { name: 'Get new codes' }).click();
  const codes = await shownCodes(page);
  await expect(dialog.getByText("This is the only time you'll see these codes.")).toBeVisible();
  await noViolations(page, 'recovery codes: shown once');

  // Copy: the codes, one a line, read back from another site's page (Latchkey's own
  // Permissions-Policy denies clipboard-read, which it never needs).
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await expect(dialog.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible();
  const other = await startOtherSite('<!doctype html><title>reader</title>');
  try {
    const reader = await page.context().newPage();
    await reader.goto(other.origin + '/');
    expect(await reader.evaluate(() => navigator.clipboard.readText())).toBe(codes.join('\n'));
    await reader.close();
  } finally {
    other.close();
  }

  // Download: a text file with every code.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    dialog.getByRole('link', { name: 'Download' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('latchkey-recovery-codes.txt');
  const file = readFileSync(await download.path(), 'utf8');
  expect(file).toContain(`Account: ${ADMIN.username}`);
  for (const code of codes) expect(file).toContain(code);

  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  await expect(row).toContainText('10 of 10 left');
  // Shown once: the codes are not on the page any more.
  expect(await page.content()).not.toContain(codes[0]);

  // Sign out; sign in with a recovery code in place of the app's code, typed loosely.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin\?signed_out=1$/);
  await signInWithRecoveryCode(page, server, codes[0].toUpperCase().replace(/-/g, ' '));
  await expect(page).toHaveURL(server.baseURL + '/');

  // The same code a second time: refused, at the same step.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin\?signed_out=1$/);
  await signInWithRecoveryCode(page, server, codes[0]);
  await expect(page.getByText("That recovery code didn't work.")).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Enter a recovery code' })).toBeVisible();
  await noViolations(page, 'sign-in recovery code, refused');
  // Another code works.
  await page.getByLabel('Recovery code', { exact: true }).fill(codes[1]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');

  await page.goto(server.baseURL + '/security-info');
  await expect(codesRow(page)).toContainText('8 of 10 left');
  await page.goto(server.baseURL + '/activity');
  await expect(page.getByRole('list', { name: 'Your recent activity' }).getByText('Recovery code used').first()).toBeVisible();
});

test('without the WebAssembly, new codes are shown once and download, and a code signs in once', async ({ page, server, browser }) => {
  await readyUser(page, server);
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  await codesRow(plain).getByRole('button', { name: 'Get codes' }).click();
  const dialog = plain.getByRole('dialog', { name: 'Recovery codes' });
  await dialog.getByRole('button', { name: 'Get new codes' }).click();
  // The answer is the page itself, not a redirect: the codes never go in a URL.
  await expect(plain).toHaveURL(server.baseURL + '/api/new_recovery_codes');
  const codes = await shownCodes(plain);
  const href = await dialog.getByRole('link', { name: 'Download' }).getAttribute('href');
  expect(href).toMatch(/^data:text\/plain;charset=utf-8,/);
  expect(decodeURIComponent((href ?? '').replace(/^data:text\/plain;charset=utf-8,/, ''))).toContain(codes[5]);
  const [download] = await Promise.all([
    plain.waitForEvent('download'),
    dialog.getByRole('link', { name: 'Download' }).click(),
  ]);
  expect(readFileSync(await download.path(), 'utf8')).toContain(codes[9]);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(codesRow(plain)).toContainText('10 of 10 left');
  await plain.context().close();

  // Signing in without the WebAssembly: the code step's link, then a plain form.
  const first = await browserWithoutScripts(browser);
  await signInWithRecoveryCode(first, server, codes[2]);
  await expect(first).toHaveURL(server.baseURL + '/');
  await first.context().close();

  const second = await browserWithoutScripts(browser);
  await signInWithRecoveryCode(second, server, codes[2]);
  await expect(second.getByText("That recovery code didn't work.")).toBeVisible();
  await expect(second.getByRole('heading', { name: 'Enter a recovery code' })).toBeVisible();
  await second.context().close();
});

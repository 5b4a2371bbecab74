// What an app password may use (its kind): chosen in the name step, shown on its row, changed
// later from the row; with and without the WebAssembly; the password check follows the kind.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { test, expect, hydrated, readyUser, newAppPassword, openAppPasswordDialog, pageWithoutScripts, recordRequests, untilItResponds, APP_PASSWORD, ADMIN } from './fixtures';

async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

/** `GET /auth/basic` as a proxy naming `protocol` asks it; the status. */
async function check(page: Page, baseURL: string, password: string, protocol?: string): Promise<number> {
  const headers: Record<string, string> = {
    Authorization: 'Basic ' + Buffer.from(`${ADMIN.username}:${password}`).toString('base64'),
  };
  if (protocol) headers['X-Latchkey-Protocol'] = protocol;
  const response = await page.request.get(baseURL + '/auth/basic', { headers });
  return response.status();
}

test('choose what an app password may use, see it in the list, change it later', async ({ page, server }) => {
  await readyUser(page, server);
  const dialog = await openAppPasswordDialog(page);
  const kind = dialog.getByLabel('What may it use?');
  await expect(kind).toHaveValue('everything');
  await kind.selectOption({ label: 'Sending mail only (SMTP)' });
  await noViolations(page, 'app password: name with what it may use');
  await dialog.getByLabel('Name').fill('Printer');
  await dialog.getByRole('button', { name: 'Next' }).click();
  const box = dialog.getByLabel('Password', { exact: true });
  await expect(box).toHaveValue(APP_PASSWORD);
  const secret = await box.inputValue();
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();

  const list = page.getByRole('list', { name: 'Your app passwords' });
  const row = list.getByRole('listitem').filter({ hasText: 'Printer' });
  await expect(row.getByText('May use: Sending mail only (SMTP)')).toBeVisible();

  // The check follows the kind: sending yes, reading mail no, no protocol named no.
  expect(await check(page, server.baseURL, secret, 'smtp')).toBe(204);
  expect(await check(page, server.baseURL, secret, 'imap')).toBe(401);
  expect(await check(page, server.baseURL, secret)).toBe(401);
  await page.reload();
  await expect(row.getByText(/Last used: SMTP, just now/)).toBeVisible();
  await hydrated(page);

  // Change it from the row; the list shows it at once, and a reload agrees.
  await untilItResponds(async () => {
    await row.getByText('Change', { exact: true }).click();
    await expect(row.getByLabel('What may it use?')).toBeVisible({ timeout: 1000 });
  });
  await expect(row.getByLabel('What may it use?')).toHaveValue('sending_only');
  await noViolations(page, 'app password row: change what it may use');
  await row.getByLabel('What may it use?').selectOption({ label: 'Mail (IMAP, POP3, sending)' });
  // Hydrated, the row's plain form is one call from the list's listener, not a page load.
  const requests = recordRequests(page);
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(row.getByText('May use: Mail (IMAP, POP3, sending)')).toBeVisible();
  expect(requests).toEqual(['POST /api/change_app_password_kind fetch']);
  // The list is written again; focus comes back to the row, not to the top of the page.
  await expect(row.locator('summary')).toBeFocused();
  expect(await check(page, server.baseURL, secret, 'imap')).toBe(204);
  expect(await check(page, server.baseURL, secret, 'caldav')).toBe(401);
  await page.reload();
  await expect(row.getByText('May use: Mail (IMAP, POP3, sending)')).toBeVisible();
});

test('an app password of a kind is created and changed before the WebAssembly loads', async ({ page, server, browser }) => {
  await readyUser(page, server);
  const plain = await pageWithoutScripts(browser, server, '/security-info?add=app_password', page);
  const dialog = plain.getByRole('dialog', { name: 'App password' });
  await dialog.getByLabel('What may it use?').selectOption({ label: 'Calendars and contacts (CalDAV, CardDAV)' });
  // A refused name comes back with the kind still chosen.
  await dialog.getByLabel('Name').fill('   ');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await plain.waitForLoadState('load');
  await expect(dialog.getByText('Enter a name for the app')).toBeVisible();
  await expect(dialog.getByLabel('What may it use?')).toHaveValue('calendars_and_contacts');
  await dialog.getByLabel('Name').fill('Phone calendar');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await plain.waitForLoadState('load');
  const secret = await dialog.getByLabel('Password', { exact: true }).inputValue();
  expect(secret).toMatch(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await plain.waitForLoadState('load');

  const row = plain.getByRole('list', { name: 'Your app passwords' }).getByRole('listitem').filter({ hasText: 'Phone calendar' });
  await expect(row.getByText('May use: Calendars and contacts (CalDAV, CardDAV)')).toBeVisible();
  expect(await check(page, server.baseURL, secret, 'carddav')).toBe(204);
  expect(await check(page, server.baseURL, secret, 'imap')).toBe(401);

  // The row's form is a plain disclosure and form post.
  await row.getByText('Change', { exact: true }).click();
  await row.getByLabel('What may it use?').selectOption({ label: 'Everything' });
  await row.getByRole('button', { name: 'Save' }).click();
  await plain.waitForLoadState('load');
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  await expect(row.getByText('May use: Everything')).toBeVisible();
  expect(await check(page, server.baseURL, secret)).toBe(204);
  await plain.context().close();
});

test('a change of what it may use, refused because the app password was deleted meanwhile, says so above the list', async ({ page, server }) => {
  await readyUser(page, server);
  await newAppPassword(page, 'Scanner');
  await newAppPassword(page, 'Tablet');
  await hydrated(page);
  const list = page.getByRole('list', { name: 'Your app passwords' });
  const row = list.getByRole('listitem').filter({ hasText: 'Scanner' });
  await untilItResponds(async () => {
    await row.getByText('Change', { exact: true }).click();
    await expect(row.getByLabel('What may it use?')).toBeVisible({ timeout: 1000 });
  });
  // Another window deletes it while this row's form is open.
  const id = await row.locator('input[name="id"]').inputValue();
  const deleted = await page.evaluate(async (id) => {
    const response = await fetch('/api/delete_app_password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ id }),
    });
    return response.status;
  }, id);
  expect(deleted).toBe(200);
  await row.getByLabel('What may it use?').selectOption({ label: 'Mail (IMAP, POP3, sending)' });
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'What it may use was not changed: This app password no longer exists' })).toBeVisible();
  await expect(list.getByText('Scanner', { exact: true })).toHaveCount(0);
  await expect(list.getByText('Tablet', { exact: true })).toBeVisible();
});

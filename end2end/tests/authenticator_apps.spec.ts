// Several authenticator apps (issue 30): a second one added through Add method, named at its
// first code, listed with when it was added and last used; its code signs in; renamed (also
// before the WebAssembly) and deleted one by one; axe on the dialogs.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { test, expect, readyUser, signIn, totp, hydrated, authenticatorRows, pageWithoutScripts, sql, ADMIN, startAddingAuthenticator } from './fixtures';

async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

test('a second authenticator app is named, signs in, is renamed and deleted on its own', async ({ page, server, browser }) => {
  const phone = await readyUser(page, server);
  await hydrated(page);

  // Add method > Authenticator app again: the name suggested is "Authenticator app 2".
  const { enroll, secretKey } = await startAddingAuthenticator(page);
  const tablet = await secretKey();
  expect(tablet).not.toBe(phone);
  const nameField = enroll.getByLabel('Name it (so you can tell your apps apart)');
  await expect(nameField).toHaveValue('Authenticator app 2');
  await noViolations(page, 'adding a second authenticator app');
  await nameField.fill('Tablet');
  await enroll.getByLabel('Code', { exact: true }).fill(totp(tablet));
  await enroll.getByRole('button', { name: 'Next' }).click();
  await expect(enroll).toBeHidden();
  await expect(authenticatorRows(page)).toHaveCount(2);
  const tabletRow = authenticatorRows(page).filter({ hasText: 'Tablet' });
  await expect(tabletRow).toContainText('never used');

  // A refused rename is told under the row it was for, not under every authenticator app's.
  await tabletRow.getByText('Rename', { exact: true }).click();
  await tabletRow.getByLabel('New name').fill('Tab\u202Elet');
  await tabletRow.getByRole('button', { name: 'Save' }).click();
  const invisible = 'no invisible characters';
  await expect(tabletRow.getByRole('alert')).toContainText(invisible);
  await expect(tabletRow.getByLabel('New name')).toHaveValue('Tab\u202Elet');
  const phoneRow = authenticatorRows(page).filter({ hasNotText: 'Tablet' });
  await phoneRow.getByText('Rename', { exact: true }).click();
  await expect(phoneRow.locator('.form-error')).toHaveText('');

  // The tablet's code signs in; its row then says when.
  await page.context().clearCookies();
  await signIn(page, server, { totpSecret: tablet });
  await expect(page).toHaveURL(server.baseURL + '/');
  await page.goto(server.baseURL + '/security-info');
  await expect(tabletRow).toContainText('last used');

  // Renamed before the WebAssembly: a plain form. Refused, the row comes back open with the
  // name as typed and the reason; only that row.
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  const plainTablet = authenticatorRows(plain).filter({ hasText: 'Tablet' });
  await plainTablet.getByText('Rename', { exact: true }).click();
  await plainTablet.getByLabel('New name').fill('Old\u202Etablet');
  await plainTablet.getByRole('button', { name: 'Save' }).click();
  await expect(plainTablet.getByRole('alert')).toContainText(invisible);
  await expect(plainTablet.getByLabel('New name')).toHaveValue('Old\u202Etablet');
  const plainPhone = authenticatorRows(plain).filter({ hasNotText: 'Tablet' });
  await expect(plainPhone.locator('.form-error')).toHaveText('');
  await expect(plainPhone.getByLabel('New name')).toBeHidden();
  await plainTablet.getByLabel('New name').fill('Old tablet');
  await plainTablet.getByRole('button', { name: 'Save' }).click();
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  await expect(authenticatorRows(plain).filter({ hasText: 'Old tablet' })).toBeVisible();
  await plain.context().close();

  // Deleted on its own: the other app stays, and still signs in.
  await page.reload();
  await hydrated(page);
  const oldTablet = authenticatorRows(page).filter({ hasText: 'Old tablet' });
  await oldTablet.getByRole('button', { name: 'Delete Old tablet' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete authenticator app?' });
  await expect(confirm).toContainText('“Old tablet” will no longer sign you in.');
  await expect(confirm).not.toContainText('app passwords stop');
  await noViolations(page, 'deleting one of two authenticator apps');
  const askedAt = page.url();
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(confirm).toBeHidden();
  await expect(authenticatorRows(page)).toHaveCount(1);
  // Done, the question left the history: Back does not ask it again.
  await page.goBack();
  await expect(page).toHaveURL(server.baseURL + '/security-info');
  await expect(confirm).toBeHidden();
  // Opened again anyway (a link kept, another window): it says so, and asks nothing.
  await page.goto(askedAt);
  await expect(confirm).toContainText('This authenticator app was deleted.');
  await expect(confirm.getByRole('button', { name: 'Yes' })).toHaveCount(0);
  await confirm.getByRole('link', { name: 'Done' }).click();
  await expect(confirm).toBeHidden();
  await expect(authenticatorRows(page)).toContainText('Authenticator app');
  await page.context().clearCookies();
  await signIn(page, server, { totpSecret: phone });
  await expect(page).toHaveURL(server.baseURL + '/');
});

test('an authenticator app confirmed after 10 minutes asks for the password and a code, then starts again with a new key', async ({ page, server }) => {
  const phone = await readyUser(page, server);
  await hydrated(page);
  const { enroll, secretKey: secretOf } = await startAddingAuthenticator(page);
  const first = await secretOf();

  // The QR code stayed open longer than 10 minutes after the sign-in.
  sql(server.databaseUrl, "UPDATE sessions SET verified_at = '2020' || substr(verified_at, 5)");
  await enroll.getByLabel('Code', { exact: true }).fill(totp(first));
  await enroll.getByRole('button', { name: 'Next' }).click();
  await expect(enroll.getByText("For your security, confirm it's you")).toBeVisible();
  await enroll.getByLabel('Password', { exact: true }).fill('not my password');
  await enroll.getByRole('button', { name: 'Continue' }).click();
  await expect(enroll.getByText('Your password is incorrect.')).toBeVisible();
  await enroll.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await enroll.getByRole('button', { name: 'Continue' }).click();
  await expect(enroll.getByText('Enter the 6-digit code from your authenticator app.')).toBeVisible();
  await enroll.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  // The next 30 seconds' code: the one of the sign-in cannot be used twice.
  await enroll.getByLabel('Code from your authenticator app').fill(totp(phone, Date.now() / 1000 + 30));
  // Every secret key the dialog shows from now on: the old one must not come back, not even
  // for a moment (its code would be refused).
  await page.evaluate(() => {
    const shown: string[] = ((window as unknown as { keysShown: string[] }).keysShown = []);
    new MutationObserver(() => {
      const key = document.querySelector('#totp-secret')?.textContent?.replace(/\s/g, '');
      if (key && shown[shown.length - 1] !== key) shown.push(key);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await enroll.getByRole('button', { name: 'Continue' }).click();

  // Started again with a new key, the only one shown: its code adds the app.
  await expect(enroll.locator('#totp-secret')).toBeVisible();
  await expect.poll(secretOf).not.toBe(first);
  const second = await secretOf();
  expect(await page.evaluate(() => (window as unknown as { keysShown: string[] }).keysShown)).toEqual([second]);
  await enroll.getByLabel('Code', { exact: true }).fill(totp(second));
  await enroll.getByLabel('Name it (so you can tell your apps apart)').fill('Tablet');
  await enroll.getByRole('button', { name: 'Next' }).click();
  await expect(enroll).toBeHidden();
  await expect(authenticatorRows(page).filter({ hasText: 'Tablet' })).toHaveCount(1);
});

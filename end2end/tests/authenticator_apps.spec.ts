// Several authenticator apps (issue 30): a second one added through Add method, named at its
// first code, listed with when it was added and last used; its code signs in; renamed (also
// before the WebAssembly) and deleted one by one; axe on the dialogs.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { test, expect, readyUser, signIn, totp, hydrated, authenticatorRows, pageWithoutScripts } from './fixtures';

async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

test('a second authenticator app is named, signs in, is renamed and deleted on its own', async ({ page, server, browser }) => {
  const phone = await readyUser(page, server);
  await hydrated(page);

  // Add method > Authenticator app again: the name suggested is "Authenticator app 2".
  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('authenticator');
  await chooser.getByRole('button', { name: 'Add' }).click();
  const enroll = page.getByRole('dialog', { name: 'Authenticator app' });
  const tablet = ((await enroll.locator('#totp-secret').textContent()) ?? '').replace(/\s/g, '');
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

  // The tablet's code signs in; its row then says when.
  await page.context().clearCookies();
  await signIn(page, server, { totpSecret: tablet });
  await expect(page).toHaveURL(server.baseURL + '/');
  await page.goto(server.baseURL + '/security-info');
  await expect(tabletRow).toContainText('last used');

  // Renamed before the WebAssembly: a plain form.
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  const plainTablet = authenticatorRows(plain).filter({ hasText: 'Tablet' });
  await plainTablet.getByText('Rename', { exact: true }).click();
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
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(confirm).toBeHidden();
  await expect(authenticatorRows(page)).toHaveCount(1);
  await expect(authenticatorRows(page)).toContainText('Authenticator app');
  await page.context().clearCookies();
  await signIn(page, server, { totpSecret: phone });
  await expect(page).toHaveURL(server.baseURL + '/');
});

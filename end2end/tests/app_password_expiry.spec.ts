// App-password expiry (issue 31): "Expires" in the create steps, the list's wording, an
// expired one marked and still deletable, and the organization's idle rule in the console.
import { test, expect, readyUser, openAppPasswordDialog, APP_PASSWORD, sql, latchkeyAdmin } from './fixtures';

test('an app password created to expire in 30 days says so, and once expired is marked and can be deleted', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  const list = page.getByRole('list', { name: 'Your app passwords' });

  // Never is the default, so name > Next is unchanged; such a one says nothing of expiry.
  const first = await openAppPasswordDialog(page);
  await expect(first.getByLabel('Expires')).toHaveValue('never');
  await first.getByLabel('Name').fill('Laptop');
  await first.getByRole('button', { name: 'Next' }).click();
  await expect(first.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await first.getByRole('link', { name: 'Done' }).click();
  await expect(first).toBeHidden();
  const laptop = list.getByRole('listitem').filter({ hasText: 'Laptop' });
  await expect(laptop).toBeVisible();
  await expect(laptop.getByText(/Expire/)).toHaveCount(0);

  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Phone');
  await dialog.getByLabel('Expires').selectOption({ label: 'In 30 days' });
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  const row = list.getByRole('listitem').filter({ hasText: 'Phone' });
  await expect(row.getByText('Expires in 30 days')).toBeVisible();

  // Its date passes (moved back, as time would).
  sql(server.databaseUrl, "UPDATE app_passwords SET expires_at = '2020' || substr(expires_at, 5) WHERE name = 'Phone'");
  await page.reload();
  await expect(row.locator('.expired-badge')).toHaveText('Expired');
  await expect(row.getByText('It no longer signs in')).toBeVisible();
  await row.getByRole('button', { name: 'Delete app password Phone' }).click();
  await page.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(list.getByText('Phone')).toBeHidden();
  await expect(laptop).toBeVisible();
});

test('the console sets the idle rule, and the command line shows it', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/admin');
  const rule = page.getByRole('listitem').filter({ hasText: 'App passwords unused for N days stop working' });
  const days = rule.getByLabel('Days', { exact: true });
  await expect(rule.getByText('Off', { exact: true })).toBeVisible();
  await expect(days).toHaveValue('');
  await days.fill('90');
  await rule.getByRole('button', { name: 'Save' }).click();
  await expect(rule.getByText('90 days', { exact: true })).toBeVisible();
  expect(latchkeyAdmin(server, 'org', 'show')).toContain('app-password-idle-days:      90');
  await days.fill('');
  await rule.getByRole('button', { name: 'Save' }).click();
  await expect(rule.getByText('Off', { exact: true })).toBeVisible();
  expect(latchkeyAdmin(server, 'org', 'show')).toContain('app-password-idle-days:      off');
});

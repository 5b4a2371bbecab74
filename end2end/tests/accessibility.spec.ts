// axe-core on every page and every dialog, on both projects (desktop and phone), and no
// sideways scrolling at 320 px wide.
import AxeBuilder from '@axe-core/playwright';
import { test, expect, completeSetup, hydrated, readyUser, openAppPasswordDialog, latchkeyAdmin, untilItResponds } from './fixtures';
import type { Page } from '@playwright/test';

async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, `${what} scrolls sideways`).toBeLessThanOrEqual(0);
}

test('pages and dialogs have no axe violations and fit 320 px', async ({ page, server }) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto(server.setupUrl);
  // The setup page is lazy too: its title is replaced while it hydrates.
  await hydrated(page);
  await noViolations(page, 'setup');
  await page.goto(server.baseURL + '/no-such-page');
  await noViolations(page, '404');

  await readyUser(page, server);
  await page.goto(server.baseURL + '/signin');
  // A lazy page's title is replaced while it hydrates: checked once it has.
  await hydrated(page);
  await noViolations(page, 'sign-in name');
  await page.goto(server.baseURL + '/signin?username=ada%40contoso.example');
  await hydrated(page);
  await noViolations(page, 'sign-in password');
  await page.goto(server.baseURL + '/signin?step=code');
  await hydrated(page);
  await noViolations(page, 'sign-in code');

  await page.goto(server.baseURL + '/');
  await noViolations(page, 'My Profile');
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  await noViolations(page, 'Security info');

  const dialog = await openAppPasswordDialog(page);
  await noViolations(page, 'app password: name');
  await dialog.getByLabel('Name').fill('Outlook 2010');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByRole('button', { name: 'Copy' })).toBeVisible();
  await noViolations(page, 'app password: shown once');
  await dialog.getByRole('link', { name: 'Done' }).click();

  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('dialog', { name: 'Add a method' })).toBeVisible();
  await noViolations(page, 'Add a method');
  await page.keyboard.press('Escape');

  const list = page.getByRole('list', { name: 'Your app passwords' });
  // Done fetched the list again; a click while its rows are redrawn is lost.
  await untilItResponds(async () => {
    await list.getByRole('button', { name: 'Rename app password Outlook 2010' }).click();
    await expect(page.getByRole('dialog', { name: 'Rename app password' })).toBeVisible({ timeout: 1000 });
  });
  await noViolations(page, 'Rename app password');
  await page.keyboard.press('Escape');
  await expect(page).not.toHaveURL(/[?&]rename=/);
  await page.goto(server.baseURL + '/security-info?delete=all');
  await hydrated(page);
  await expect(page.getByRole('dialog', { name: 'Delete all app passwords?' })).toBeVisible();
  await noViolations(page, 'Delete all app passwords');
  await page.keyboard.press('Escape');
  await expect(page).not.toHaveURL(/[?&]delete=/);
  await list.getByRole('button', { name: 'Delete app password Outlook 2010' }).click();
  await expect(page.getByRole('dialog', { name: 'Delete app password?' })).toBeVisible();
  await noViolations(page, 'Delete app password');
  await page.keyboard.press('Escape');

  const methods = page.getByRole('list', { name: 'Your sign-in methods' });
  await methods.getByRole('button', { name: 'Change' }).click();
  await expect(page.getByRole('dialog', { name: 'Change password' })).toBeVisible();
  await noViolations(page, 'Change password');
  await page.keyboard.press('Escape');

  await methods.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog', { name: 'Delete authenticator app?' })).toBeVisible();
  await noViolations(page, 'Delete authenticator app');
  await page.getByRole('dialog', { name: 'Delete authenticator app?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(methods.getByText('Authenticator app:')).toBeHidden();

  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('authenticator');
  await chooser.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByRole('dialog', { name: 'Authenticator app' }).getByRole('img', { name: /QR code/ })).toBeVisible();
  await noViolations(page, 'Authenticator app');

  await page.goto(server.baseURL + '/activity');
  await hydrated(page);
  await expect(page.getByRole('list', { name: 'Your recent activity' })).toBeVisible();
  await noViolations(page, 'Recent activity');
  await page.goto(server.baseURL + '/admin');
  await hydrated(page);
  await expect(page.getByRole('list', { name: 'Organization settings' })).toBeVisible();
  await noViolations(page, 'Administration');
  await page.goto(server.baseURL + '/admin?confirm=disable%3Aada%40contoso.example');
  await hydrated(page);
  await expect(page.getByRole('dialog', { name: 'Disable this person?' })).toBeVisible();
  await noViolations(page, 'Disable this person');
  await page.goto(server.baseURL + '/admin?add=person');
  await hydrated(page);
  await expect(page.getByRole('dialog', { name: 'Add person' })).toBeVisible();
  await noViolations(page, 'Add person');
  await page.goto(server.baseURL + '/admin?reset=ada%40contoso.example');
  await hydrated(page);
  await expect(page.getByRole('dialog', { name: 'Reset password' })).toBeVisible();
  await noViolations(page, 'Reset password');
  const added = latchkeyAdmin(server, 'user', 'add', 'grace@contoso.example', '--name', 'Grace Hopper', '--link');
  const token = added.match(/token=([0-9a-f]{64})/)?.[1];
  expect(token).toBeTruthy();
  await page.goto(server.baseURL + '/set-password?token=' + token);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Set your password' })).toBeVisible();
  await noViolations(page, 'Set your password');
  await page.goto(server.baseURL + '/admin/audit');
  await hydrated(page);
  await expect(page.getByRole('list', { name: 'Audit events' })).toBeVisible();
  await noViolations(page, 'Audit log');

  latchkeyAdmin(server, 'org', 'set', 'security-info-experience', 'off');
  await page.goto(server.baseURL + '/app-passwords');
  await noViolations(page, 'Manage app passwords');
});

test('the setup form with its errors has no axe violations', async ({ page, server }) => {
  await page.goto(server.setupUrl);
  await hydrated(page);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByText('Enter a name for the organization.').or(page.getByRole('alert').filter({ hasText: /\S/ }).first())).toBeVisible();
  await noViolations(page, 'setup with errors');
  await completeSetup(page, server);
});

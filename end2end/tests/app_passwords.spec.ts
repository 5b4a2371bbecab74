import { test, expect, untilItResponds, completeSetup, signIn, addAuthenticator, latchkeyAdmin, startOtherSite, totp, ADMIN, pageWithoutScripts, readyUser, openAppPasswordDialog, APP_PASSWORD, hydrated } from './fixtures';
import { execFileSync } from 'node:child_process';
import { chromium } from '@playwright/test';
import { chromiumArgs } from '../playwright.config';

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });



test('create, copy once, list and delete an app password', async ({ page, server }) => {
  await readyUser(page, server);
  // Step 1: from My Profile to Security info through the left navigation.
  await page.goto(server.baseURL + '/');
  await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Security info' }).click();
  await expect(page.getByText('0 of 40 in use')).toBeVisible();
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  const dialog = await openAppPasswordDialog(page);
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByText('Enter a name for the app')).toBeVisible();
  await dialog.getByLabel('Name').fill('x'.repeat(65));
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByText('Use at most 64 characters (this name has 65).')).toBeVisible();
  await dialog.getByLabel('Name').fill('Outlook 2010');
  await dialog.getByRole('button', { name: 'Next' }).click();

  const box = dialog.getByLabel('Password', { exact: true });
  await expect(box).toHaveValue(APP_PASSWORD);
  await expect(box).toHaveAttribute('readonly', '');
  const secret = await box.inputValue();
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await expect(dialog.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible();
  // Read the system clipboard from another site's page: Latchkey's own Permissions-Policy
  // denies clipboard-read, which it never needs.
  const other = await startOtherSite('<!doctype html><title>reader</title>');
  try {
    const reader = await page.context().newPage();
    await reader.goto(other.origin + '/');
    expect(await reader.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await reader.close();
  } finally {
    other.close();
  }
  await expect(dialog.getByText("This is the only time you'll see this password.")).toBeVisible();
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();

  const list = page.getByRole('list', { name: 'Your app passwords' });
  await expect(list.getByText('Outlook 2010')).toBeVisible();
  await expect(list.getByText(/Created .* · Never used/)).toBeVisible();
  await expect(page.getByText('1 of 40 in use')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42); // no reload
  // The secret is not on the page any more.
  expect(await page.content()).not.toContain(secret);

  // Names are unique per person, whatever the case.
  const again = await openAppPasswordDialog(page);
  await again.getByLabel('Name').fill('OUTLOOK 2010');
  await again.getByRole('button', { name: 'Next' }).click();
  await expect(again.getByText("You already have an app password named 'OUTLOOK 2010'.")).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(again).toBeHidden();

  // Delete: No keeps it, Yes removes it.
  await list.getByRole('button', { name: 'Delete app password Outlook 2010' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete app password?' });
  await expect(confirm).toContainText("Delete the app password for 'Outlook 2010'? Apps using it will stop signing in. This can't be undone.");
  await confirm.getByRole('link', { name: 'No' }).click();
  await expect(list.getByText('Outlook 2010')).toBeVisible();
  await list.getByRole('button', { name: 'Delete app password Outlook 2010' }).click();
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(list.getByText('Outlook 2010')).toBeHidden();
  await expect(page.getByText('0 of 40 in use')).toBeVisible();
  // The row and its Delete are gone: focus is on what was done, not back at the page's start.
  const done = page.getByRole('status').filter({ hasText: "The app password 'Outlook 2010' was deleted." });
  await expect(done).toBeFocused();
});

test('closing the dialog with Esc after the password is shown behaves like Done', async ({ page, server }) => {
  await readyUser(page, server);
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Thunderbird');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('list', { name: 'Your app passwords' }).getByText('Thunderbird')).toBeVisible();
});

test('at 40 app passwords, Add asks to delete one first', async ({ page, server }) => {
  await readyUser(page, server);
  const created = await page.evaluate(async () => {
    let ok = 0;
    for (let i = 1; i <= 40; i++) {
      const response = await fetch('/api/create_app_password', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({ name: `Device ${i}` }),
      });
      if (response.ok) ok++;
    }
    const over = await fetch('/api/create_app_password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ name: 'One too many' }),
    });
    return { ok, over: over.status, message: await over.text() };
  });
  expect(created.ok).toBe(40);
  expect(created.over).toBe(409);
  expect(JSON.parse(created.message)).toEqual({ LimitReached: { limit: 40 } });

  await page.reload();
  await expect(page.getByText('40 of 40 in use')).toBeVisible();
  const dialog = await openAppPasswordDialog(page);
  await expect(dialog.getByText('You have 40 of 40 app passwords. Delete one you no longer use')).toBeVisible();
  await expect(dialog.getByLabel('Name')).toHaveCount(0);
  await expect(dialog.getByRole('button', { name: 'Next' })).toBeDisabled();
  await dialog.getByRole('button', { name: 'Delete' }).first().click();
  await page.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  // Back at the create steps, now with a free slot.
  await expect(dialog.getByRole('button', { name: 'Next' })).toBeEnabled();
  await dialog.getByLabel('Name').fill('New phone');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(page.getByText('40 of 40 in use')).toBeVisible();
});

test('with app passwords turned off they are not offered, creation is refused, existing ones can be deleted', async ({ page, server }) => {
  await readyUser(page, server);
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Old mail');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.getByRole('link', { name: 'Done' }).click();

  latchkeyAdmin(server, 'org', 'set', 'allow-app-passwords', 'off');
  await page.reload();
  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await expect(chooser.getByRole('option', { name: 'App password' })).toHaveCount(0);
  // Right after the reload the dialog may not be hydrated yet (Esc needs its island).
  await untilItResponds(async () => {
    await page.keyboard.press('Escape');
    await expect(chooser).toBeHidden({ timeout: 1_000 });
  });

  const direct = await page.evaluate(async () => {
    const response = await fetch('/api/create_app_password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ name: 'Sneaky' }),
    });
    return { status: response.status, text: await response.text() };
  });
  expect(direct.status).toBe(403);
  // A typed refusal: clients tell refusals apart by name, and word them themselves.
  expect(JSON.parse(direct.text)).toEqual({ Forbidden: 'AppPasswordsNotAllowed' });

  const list = page.getByRole('list', { name: 'Your app passwords' });
  await expect(list.getByText('Old mail')).toBeVisible();
  await list.getByRole('button', { name: 'Delete app password Old mail' }).click();
  await page.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(list.getByText('Old mail')).toBeHidden();
});

test('without two-step verification the page says why app passwords are missing', async ({ page, server }) => {
  await completeSetup(page, server, { allowAppPasswords: true });
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await expect(page.getByText('App passwords need two-step verification.')).toBeVisible();
  await page.getByRole('button', { name: 'Add method' }).click();
  await expect(page.getByRole('dialog', { name: 'Add a method' }).getByRole('option', { name: 'App password' })).toHaveCount(0);
});

test('the legacy Manage app passwords page, when the Security info experience is off', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/app-passwords');
  await expect(page).toHaveURL(/\/security-info$/);

  latchkeyAdmin(server, 'org', 'set', 'security-info-experience', 'off');
  await page.goto(server.baseURL + '/security-info');
  await page.getByRole('link', { name: 'Manage app passwords' }).click();
  await expect(page).toHaveURL(/\/app-passwords$/);
  await expect(page).toHaveTitle('Manage app passwords - Latchkey');
  await expect(page.getByText('Additional security verification')).toBeVisible();
  await page.getByRole('button', { name: 'Create' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create app password' });
  await dialog.getByLabel('Name').fill('Outlook 2010');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
  const table = page.getByRole('table', { name: 'Your app passwords' });
  await expect(table.getByRole('cell', { name: 'Outlook 2010', exact: true })).toBeVisible();
  await expect(table.getByRole('cell', { name: 'Never used' })).toBeVisible();
  // Done fetches the list again (for "Last used"), which redraws the rows: a click that lands
  // while they are replaced is lost, so click until the dialog opens.
  const confirm = page.getByRole('dialog', { name: 'Delete app password?' });
  await untilItResponds(async () => {
    await table.getByRole('button', { name: 'Delete app password Outlook 2010' }).click();
    await expect(confirm).toBeVisible({ timeout: 1000 });
  });
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(table.getByRole('cell', { name: 'Outlook 2010', exact: true })).toBeHidden();
});

test('create and delete work before the WebAssembly loads (plain links and forms)', async ({ page, server, browser }) => {
  await readyUser(page, server);
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  await plain.getByRole('button', { name: 'Add method' }).click();
  await plain.waitForLoadState('load');
  await expect(plain).toHaveURL(/\?add=method$/);
  const chooser = plain.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('app_password');
  await chooser.getByRole('button', { name: 'Add' }).click();
  await plain.waitForLoadState('load');
  const dialog = plain.getByRole('dialog', { name: 'App password' });
  await dialog.getByLabel('Name').fill('   ');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await plain.waitForLoadState('load');
  await expect(dialog.getByText('Enter a name for the app')).toBeVisible();
  await dialog.getByLabel('Name').fill('Outlook 2010');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await plain.waitForLoadState('load');
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await plain.waitForLoadState('load');
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  const list = plain.getByRole('list', { name: 'Your app passwords' });
  await expect(list.getByText('Outlook 2010')).toBeVisible();

  await list.getByRole('button', { name: 'Delete app password Outlook 2010' }).click();
  await plain.waitForLoadState('load');
  const confirm = plain.getByRole('dialog', { name: 'Delete app password?' });
  await expect(confirm).toContainText("Delete the app password for 'Outlook 2010'?");
  await confirm.getByRole('link', { name: 'No' }).click();
  await plain.waitForLoadState('load');
  await expect(list.getByText('Outlook 2010')).toBeVisible();
  await list.getByRole('button', { name: 'Delete app password Outlook 2010' }).click();
  await plain.waitForLoadState('load');
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await plain.waitForLoadState('load');
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  await expect(list.getByText('Outlook 2010')).toBeHidden();
  await expect(plain.getByText('0 of 40 in use')).toBeVisible();
  await plain.context().close();
});

test('creating needs a sign-in within the last 10 minutes, and then continues', async ({ page, server }) => {
  const secret = await readyUser(page, server);
  // Age every session's last verification by years (Python's sqlite3 on the server's file).
  const file = server.databaseUrl.replace('sqlite://', '');
  execFileSync('python3', ['-c', `import sqlite3; c = sqlite3.connect(${JSON.stringify(file)}); c.execute("UPDATE sessions SET verified_at = '2020' || substr(verified_at, 5)"); c.commit()`]);

  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Outlook 2010');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByText("For your security, confirm it's you")).toBeVisible();
  await dialog.getByLabel('Password', { exact: true }).fill('not my password');
  await dialog.getByLabel('Code from your authenticator app').fill(totp(secret, Date.now() / 1000 + 30));
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog.getByText('Your password is incorrect.')).toBeVisible();
  await dialog.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(page.getByRole('list', { name: 'Your app passwords' }).getByText('Outlook 2010')).toBeVisible();
});

test('where the clipboard is unavailable (plain http), Copy selects the password and says so', async ({ server }) => {
  // A name other than localhost makes plain http an insecure context, where browsers have no
  // Clipboard API, as for a Latchkey served without TLS.
  const port = new URL(server.baseURL).port;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...chromiumArgs, '--host-resolver-rules=MAP latchkey.test 127.0.0.1'],
  });
  try {
    const page = await browser.newPage();
    const insecure = { ...server, baseURL: `http://latchkey.test:${port}`, setupUrl: server.setupUrl.replace('127.0.0.1', 'latchkey.test') };
    await completeSetup(page, insecure, { allowAppPasswords: true });
    await signIn(page, insecure);
    await expect(page).toHaveURL(insecure.baseURL + '/');
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    await addAuthenticator(page, insecure);
    const dialog = await openAppPasswordDialog(page);
    await dialog.getByLabel('Name').fill('Old mail client');
    await dialog.getByRole('button', { name: 'Next' }).click();
    const box = dialog.getByLabel('Password', { exact: true });
    await expect(box).toHaveValue(APP_PASSWORD);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await expect(dialog.getByRole('status').filter({ hasText: "Copying isn't available here" })).toBeVisible();
    await expect(box).toBeFocused();
    const selected = await box.evaluate((input: HTMLInputElement) => input.value.slice(input.selectionStart ?? 0, input.selectionEnd ?? 0));
    expect(selected).toBe(await box.inputValue());
  } finally {
    await browser.close();
  }
});

test('a name made of markup is shown as text, before and after hydration', async ({ page, server, browser }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  const markup = '"><img src=x onerror="window.__pwned=1">';
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill(markup);
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByRole('button', { name: 'Copy' })).toBeVisible();
  await dialog.getByRole('link', { name: 'Done' }).click();
  const list = page.getByRole('list', { name: 'Your app passwords' });
  // Hydrated: rendered by the client.
  await expect(list.getByText(markup, { exact: true })).toBeVisible();
  expect(await page.locator('main img').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  // Rendered by the server and hydrated again.
  await page.reload();
  await hydrated(page);
  await expect(list.getByText(markup, { exact: true })).toBeVisible();
  expect(await page.locator('main img').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  // Before any WebAssembly.
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  await expect(plain.getByRole('list', { name: 'Your app passwords' }).getByText(markup, { exact: true })).toBeVisible();
  expect(await plain.locator('main img').count()).toBe(0);
  await plain.context().close();
});

// The hydrated client: typed server-function calls instead of page loads, the list as client
// state, refusals shown in place, two tabs of one person, and the whole flow by keyboard.
import { test, expect, hydrated, readyUser, openAppPasswordDialog, latchkeyAdmin, untilItResponds, pageWithoutScripts, recordRequests, sql, APP_PASSWORD } from './fixtures';
import type { Page } from '@playwright/test';

test('after hydration, creating and deleting an app password each send one call and fetch no page', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  const list = page.getByRole('list', { name: 'Your app passwords' });
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Outlook 2010');

  const requests = recordRequests(page);
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await expect(list.getByText('Outlook 2010')).toBeAttached();
  await expect(page.getByText('1 of 40 in use')).toBeAttached();
  expect(requests).toEqual(['POST /api/create_app_password fetch']);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  // Closing is a client-side navigation; the list is asked for again (the app may have signed in).
  await expect.poll(() => requests).toEqual(['POST /api/create_app_password fetch', 'POST /api/get_app_passwords fetch']);

  requests.length = 0;
  await list.getByRole('button', { name: 'Delete app password Outlook 2010' }).click();
  await page.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(list.getByText('Outlook 2010')).toBeHidden();
  await expect(page.getByText('0 of 40 in use')).toBeVisible();
  expect(requests).toEqual(['POST /api/delete_app_password fetch']);
});

test('a refused call shows its reason in the dialog and leaves the list as it was', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  const list = page.getByRole('list', { name: 'Your app passwords' });
  let dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Kept');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(list.getByText('Kept')).toBeVisible();

  // The organization turns app passwords off while the dialog is open.
  dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Too late');
  latchkeyAdmin(server, 'org', 'set', 'allow-app-passwords', 'off');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByText("Your organization doesn't allow app passwords.")).toBeVisible();
  await expect(dialog.getByLabel('Name')).toHaveValue('Too late');
  await expect(page.getByText('1 of 40 in use')).toBeAttached();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // The session ends (signed out elsewhere) while the Delete dialog is open.
  await list.getByRole('button', { name: 'Delete app password Kept' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete app password?' });
  sql(server.databaseUrl, 'DELETE FROM sessions');
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(confirm.getByText('Your session has ended. Sign in again to continue.')).toBeVisible();
  await expect(list.getByText('Kept')).toBeAttached();
});

test('two tabs: a change in one shows in the other when it is shown again; deleting twice is explained', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  const other = await page.context().newPage();
  await other.goto(server.baseURL + '/security-info');
  await Promise.all([hydrated(page), hydrated(other)]);

  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Tablet');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await dialog.getByRole('link', { name: 'Done' }).click();

  const otherList = other.getByRole('list', { name: 'Your app passwords' });
  await expect(otherList.getByText('Tablet')).toHaveCount(0);
  // The other tab comes to the front again.
  await other.evaluate(() => document.dispatchEvent(new Event('visibilitychange', { bubbles: true })));
  await expect(otherList.getByText('Tablet')).toBeVisible();

  // Deleted in the other tab; this tab still lists it and tries too.
  await otherList.getByRole('button', { name: 'Delete app password Tablet' }).click();
  await other.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(otherList.getByText('Tablet')).toBeHidden();
  const list = page.getByRole('list', { name: 'Your app passwords' });
  await list.getByRole('button', { name: 'Delete app password Tablet' }).click();
  await page.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(page.getByText('This app password no longer exists: it was deleted, perhaps in another window.')).toBeVisible();
  await expect(list.getByText('Tablet')).toHaveCount(0);

  // Renamed here after the other tab deleted it: the page says so when its dialog goes.
  const second = await openAppPasswordDialog(page);
  await second.getByLabel('Name').fill('Laptop');
  await second.getByRole('button', { name: 'Next' }).click();
  await second.getByRole('link', { name: 'Done' }).click();
  await other.evaluate(() => document.dispatchEvent(new Event('visibilitychange', { bubbles: true })));
  await otherList.getByRole('button', { name: 'Delete app password Laptop' }).click();
  await other.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(otherList.getByText('Laptop')).toBeHidden();
  await list.getByRole('button', { name: 'Rename app password Laptop' }).click();
  const rename = page.getByRole('dialog', { name: 'Rename app password' });
  await rename.getByLabel('Name').fill('Old laptop');
  await rename.getByRole('button', { name: 'Save' }).click();
  await expect(rename).toBeHidden();
  await expect(page.getByText('This app password no longer exists: it was deleted, perhaps in another window.')).toBeVisible();
  await expect(list.getByText('Laptop')).toHaveCount(0);

  // A reload shows the same.
  await other.reload();
  await expect(other.getByText('0 of 40 in use')).toBeVisible();
  await other.close();
});

/** Presses Tab until `target` has focus (at most 40 times). */
async function tabTo(page: Page, target: ReturnType<Page['getByRole']>) {
  await expect(target).toBeVisible();
  for (let i = 0; i < 40; i++) {
    const focused = await target.evaluate((element) => element === document.activeElement, undefined, { timeout: 2_000 }).catch(() => false);
    if (focused) return;
    await page.keyboard.press('Tab');
  }
  await expect(target).toBeFocused();
}

test('the whole app-password flow by keyboard alone', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);

  const add = page.getByRole('button', { name: 'Add method' });
  await tabTo(page, add);
  await page.keyboard.press('Enter');
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await expect(chooser).toBeVisible();
  const choice = chooser.getByLabel('Which method would you like to add?');
  await tabTo(page, choice);
  await choice.selectOption('app_password'); // a <select> takes arrow keys; the choice is what matters here
  await tabTo(page, chooser.getByRole('button', { name: 'Add' }));
  await page.keyboard.press('Space');

  const dialog = page.getByRole('dialog', { name: 'App password' });
  await expect(dialog.getByLabel('Name')).toBeFocused();
  await page.keyboard.type('Keyboard mail');
  await page.keyboard.press('Enter');
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await tabTo(page, dialog.getByRole('button', { name: 'Copy' }));
  await page.keyboard.press('Space');
  await tabTo(page, dialog.getByRole('link', { name: 'Done' }));
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();

  const list = page.getByRole('list', { name: 'Your app passwords' });
  await expect(list.getByText('Keyboard mail')).toBeVisible();
  const remove = list.getByRole('button', { name: 'Delete app password Keyboard mail' });
  await tabTo(page, remove);
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('dialog', { name: 'Delete app password?' });
  await expect(confirm).toBeVisible();
  // Esc closes it, and focus is back on the Delete button.
  await page.keyboard.press('Escape');
  await expect(confirm).toBeHidden();
  await expect(remove).toBeFocused();
  // The dialog's close event (queued by the browser after Esc) takes the URL back to the page;
  // opening it again before that would be undone by it.
  await expect(page).not.toHaveURL(/[?&]delete=/);
  await page.keyboard.press('Space');
  await expect(confirm).toBeVisible();
  await tabTo(page, confirm.getByRole('button', { name: 'Yes' }));
  await page.keyboard.press('Enter');
  await expect(list.getByText('Keyboard mail')).toBeHidden();
});

test('client-side navigation moves focus to the new page heading and announces it; the frame stays', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/');
  await hydrated(page);
  // My Profile's frame is a parent route: the same top bar stays, and the person is not read again.
  await page.locator('header.topbar').evaluate((bar) => { (bar as HTMLElement & { kept?: boolean }).kept = true; });
  const requests = recordRequests(page);
  await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Security info' }).click();
  await expect(page.getByRole('heading', { name: 'Security info', level: 1 })).toBeFocused();
  await expect(page.locator('[aria-live="polite"][aria-atomic="true"]')).toHaveText('Security info - Latchkey');
  expect(requests.filter((r) => r.endsWith(' document')), 'no page was loaded').toEqual([]);
  await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Recent activity' }).click();
  await expect(page.getByRole('heading', { name: 'Recent activity', level: 1 })).toBeFocused();
  await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeFocused();
  expect(await page.locator('header.topbar').evaluate((bar) => (bar as HTMLElement & { kept?: boolean }).kept)).toBe(true);
  await expect(page.locator('.topbar-user')).not.toBeEmpty();
  expect(requests.filter((r) => r.includes('current_user')), 'the person was read once, by the page load').toEqual([]);
  expect(requests.filter((r) => r.endsWith(' document')), 'no page was loaded').toEqual([]);
});

test('a page whose URL opens a dialog hydrates with it open, and the dialog works', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info?add=app_password');
  await hydrated(page);
  const dialog = page.getByRole('dialog', { name: 'App password' });
  await dialog.getByLabel('Name').fill('Hydrated with its dialog');
  const requests = recordRequests(page);
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  expect(requests, 'the hydrated form calls its server function').toEqual(['POST /api/create_app_password fetch']);
});

/** Creates app passwords named `names` through Add method on Security info. */
async function createAppPasswords(page: Page, names: string[]) {
  const list = page.getByRole('list', { name: 'Your app passwords' });
  for (const name of names) {
    const dialog = await openAppPasswordDialog(page);
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByRole('button', { name: 'Next' }).click();
    await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
    await dialog.getByRole('link', { name: 'Done' }).click();
    await expect(dialog).toBeHidden();
    await expect(list.getByText(name, { exact: true })).toBeVisible();
  }
  return list;
}

test('rename an app password and delete them all, each one call; a list changed elsewhere is not deleted unseen', async ({ page, server, browser }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  const list = await createAppPasswords(page, ['Mail', 'Calendar']);

  const requests = recordRequests(page);
  const rename = page.getByRole('dialog', { name: 'Rename app password' });
  // Done fetched the list again: a click while its rows are redrawn is lost, so click until it opens.
  await untilItResponds(async () => {
    await list.getByRole('button', { name: 'Rename app password Mail' }).click();
    await expect(rename).toBeVisible({ timeout: 1000 });
  });
  await expect(rename.getByLabel('Name')).toHaveValue('Mail');
  await rename.getByLabel('Name').fill('calendar');
  await rename.getByRole('button', { name: 'Save' }).click();
  await expect(rename.getByText("You already have an app password named 'calendar'. Choose another name.")).toBeVisible();
  await rename.getByLabel('Name').fill('Thunderbird at home');
  await rename.getByRole('button', { name: 'Save' }).click();
  await expect(rename).toBeHidden();
  await expect(list.getByText('Thunderbird at home', { exact: true })).toBeVisible();
  await expect(list.getByText('Mail', { exact: true })).toHaveCount(0);
  expect(requests.filter((r) => !r.includes('get_app_passwords'))).toEqual([
    'POST /api/rename_app_password fetch',
    'POST /api/rename_app_password fetch',
  ]);

  // Another client adds one while the confirmation names two (a call the page does not see;
  // another tab would be seen when this one is shown again): nothing is deleted, and the
  // dialog names the new count.
  requests.length = 0;
  await page.getByRole('button', { name: 'Delete all' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete all app passwords?' });
  await expect(confirm.getByText('Delete all 2 of your app passwords?')).toBeVisible();
  const created = await page.evaluate(async () => {
    const response = await fetch('/api/create_app_password', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ name: 'Phone' }),
    });
    return response.status;
  });
  expect(created).toBe(200);
  await confirm.getByRole('button', { name: 'Delete all' }).click();
  await expect(confirm.getByText('Your app passwords changed in another window meanwhile')).toBeVisible();
  await expect(confirm.getByText('Delete all 3 of your app passwords?')).toBeVisible();
  await confirm.getByRole('button', { name: 'Delete all' }).click();
  await expect(confirm).toBeHidden();
  await expect(page.getByText('0 of 40 in use')).toBeVisible();
  await expect(list.getByRole('listitem')).toHaveCount(0);

  // Before the WebAssembly: the same forms post to the same server functions.
  await createAppPasswords(page, ['Old phone', 'Tablet']);
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  const plainList = plain.getByRole('list', { name: 'Your app passwords' });
  await plainList.getByRole('button', { name: 'Rename app password Old phone' }).click();
  await plain.waitForLoadState('load');
  const plainRename = plain.getByRole('dialog', { name: 'Rename app password' });
  await plainRename.getByLabel('Name').fill('New phone');
  await plainRename.getByRole('button', { name: 'Save' }).click();
  await plain.waitForLoadState('load');
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  await expect(plainList.getByText('New phone', { exact: true })).toBeVisible();
  await plain.getByRole('button', { name: 'Delete all' }).click();
  await plain.waitForLoadState('load');
  await plain.getByRole('dialog', { name: 'Delete all app passwords?' }).getByRole('button', { name: 'Delete all' }).click();
  await plain.waitForLoadState('load');
  await expect(plain.getByText('0 of 40 in use')).toBeVisible();
});

// The admin console: administrators change the organization's settings in the browser (with
// and without the WebAssembly); everyone else is neither shown the console nor let in.
import { test, expect, completeSetup, signIn, hydrated, readyUser, sql, totp, ADMIN, addPerson, latchkeyAdmin, pageWithoutScripts, addAuthenticator, openAppPasswordDialog, APP_PASSWORD } from './fixtures';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import type { LatchkeyServer } from './fixtures';

/** axe-core finds nothing on the page as it is now. */
async function noAxeViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

/** Adds an authenticator app, then an app password named `name`, through Security info. */
async function addAuthenticatorAndAppPassword(page: Page, server: LatchkeyServer, name: string) {
  await addAuthenticator(page, server);
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
}

test('an administrator turns a setting on and off; a person is refused the console', async ({ page, server, browser }) => {
  // With two steps: once the organization requires them, an administrator without would be
  // asked to add a method before anything else.
  await readyUser(page, server);
  await page.goto(server.baseURL + '/');
  await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Administration' }).click();
  await expect(page).toHaveURL(server.baseURL + '/admin');
  await expect(page).toHaveTitle('Administration - Latchkey');
  await hydrated(page);
  const settings = page.getByRole('list', { name: 'Organization settings' });
  const twoStep = settings.getByRole('listitem').filter({ hasText: 'Require two-step verification' });
  await expect(twoStep).toContainText('Off');
  await twoStep.getByRole('button', { name: 'Require two-step verification: turn on' }).click();
  await expect(twoStep).toContainText('On');
  await expect(twoStep.getByRole('button', { name: 'Require two-step verification: turn off' })).toBeVisible();
  expect(latchkeyAdmin(server, 'org', 'show')).toMatch(/require-two-step:\s+on/);
  await page.reload();
  await expect(twoStep).toContainText('On');

  // Before the WebAssembly, the same form posts and comes back to the console.
  const plain = await pageWithoutScripts(browser, server, '/admin', page);
  const plainApps = plain.getByRole('list', { name: 'Organization settings' }).getByRole('listitem').filter({ hasText: 'App passwords' }).first();
  await plainApps.getByRole('button', { name: 'App passwords: turn off' }).click();
  await plain.waitForLoadState('load');
  await expect(plain).toHaveURL(server.baseURL + '/admin');
  await expect(plainApps).toContainText('Off');
  expect(latchkeyAdmin(server, 'org', 'show')).toMatch(/allow-app-passwords:\s+off/);
  await plain.context().close();

  // A person who is not an administrator: no link, and the page refuses.
  addPerson(server, 'grace@contoso.example', 'a long enough password');
  const other = await browser.newContext();
  const person = await other.newPage();
  await signIn(person, server, { username: 'grace@contoso.example', password: 'a long enough password' });
  // Two-step verification is required now, and she has none: she is asked to add it first.
  await expect(person).toHaveURL(server.baseURL + '/security-info?add=authenticator');
  // The dialog says why it is open and what Continue does.
  const requiredPerson = person.getByRole('dialog', { name: 'Authenticator app' });
  await expect(requiredPerson.getByText('Your organization requires two-step verification.')).toBeVisible();
  await expect(requiredPerson.getByText('Continue shows a QR code')).toBeVisible();
  await expect(person.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Security info' })).toBeVisible();
  await expect(person.getByRole('link', { name: 'Administration' })).toHaveCount(0);
  // Until she has added it, every other page leads back to Security info.
  await person.goto(server.baseURL + '/admin');
  await expect(person).toHaveURL(server.baseURL + '/security-info');
  await expect(person.getByRole('list', { name: 'Organization settings' })).toHaveCount(0);
  // With it, the console is still not hers: she is not an administrator, and lands on My Profile.
  await addAuthenticator(person, server);
  for (const path of ['/admin', '/admin/audit']) {
    await person.goto(server.baseURL + path);
    await expect(person).toHaveURL(server.baseURL + '/');
    await expect(person.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
    await expect(person.getByRole('list', { name: 'Organization settings' })).toHaveCount(0);
  }
  await other.close();
});

test('an administrator finds a person and disables them after confirming, with and without the WebAssembly', async ({ page, server, browser }) => {
  await completeSetup(page, server, { allowAppPasswords: true });
  addPerson(server, 'grace@contoso.example', 'a long enough password');
  addPerson(server, 'alan@contoso.example', 'a long enough password', 'Alan Turing');
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  await page.goto(server.baseURL + '/admin');
  await hydrated(page);
  const people = page.getByRole('list', { name: 'People' });
  await expect(people.getByRole('listitem')).toHaveCount(3);
  await page.getByLabel('Find people by sign-in name or name').fill('GRA');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(server.baseURL + '/admin?q=GRA');
  await expect(people.getByRole('listitem')).toHaveCount(1);
  const grace = people.getByRole('listitem').first();
  await expect(grace).toContainText('grace@contoso.example');

  await grace.getByRole('link', { name: 'Disable grace@contoso.example' }).click();
  const confirm = page.getByRole('dialog', { name: 'Disable this person?' });
  await expect(confirm).toContainText('Disable Grace Hopper (grace@contoso.example)?');
  await confirm.getByRole('button', { name: 'Disable' }).click();
  await expect(confirm).toBeHidden();
  await expect(page).toHaveURL(server.baseURL + '/admin?q=GRA');
  await expect(grace).toContainText('Disabled');
  expect(latchkeyAdmin(server, 'user', 'list')).toMatch(/grace@contoso\.example.*disabled/);
  await grace.getByRole('button', { name: 'Enable grace@contoso.example' }).click();
  await expect(grace).not.toContainText('Disabled');

  // The administrator's own app passwords: listed with their last use, each revocable.
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  await addAuthenticatorAndAppPassword(page, server, 'Old laptop');
  await page.goto(server.baseURL + '/admin?q=ada');
  await hydrated(page);
  const ada = people.getByRole('listitem').first();
  await expect(ada).toContainText('1 app password');
  await ada.getByRole('link', { name: 'App passwords of ada@contoso.example' }).click();
  const apps = page.getByRole('dialog', { name: 'App passwords' });
  await expect(apps).toContainText('Old laptop');
  await expect(apps).toContainText('Never used');
  await apps.getByRole('button', { name: 'Revoke app password Old laptop' }).click();
  await expect(apps).toContainText('No app passwords.');
  await apps.getByRole('link', { name: 'Done' }).click();
  await expect(apps).toBeHidden();
  await expect(ada).toContainText('0 app passwords');

  // The last administrator cannot remove their own role: the refusal says why.
  await page.getByLabel('Find people by sign-in name or name').fill('');
  await page.getByRole('button', { name: 'Search' }).click();
  await people.getByRole('link', { name: 'Remove administrator ada@contoso.example' }).click();
  const removeOwn = page.getByRole('dialog', { name: 'Remove your administrator role?' });
  await expect(removeOwn).toContainText('You will no longer be able to use this console.');
  await removeOwn.getByRole('button', { name: 'Remove administrator' }).click();
  await expect(removeOwn.getByText('This is the last administrator.')).toBeVisible();
  await removeOwn.getByRole('link', { name: 'No' }).click();
  await expect(removeOwn).toBeHidden();

  const plain = await pageWithoutScripts(browser, server, '/admin?q=alan', page);
  const alan = plain.getByRole('list', { name: 'People' }).getByRole('listitem').first();
  await alan.getByRole('link', { name: 'Disable alan@contoso.example' }).click();
  await plain.getByRole('dialog', { name: 'Disable this person?' }).getByRole('button', { name: 'Disable' }).click();
  await plain.waitForLoadState('load');
  await expect(plain).toHaveURL(server.baseURL + '/admin?q=alan');
  await expect(alan).toContainText('Disabled');
  await plain.context().close();
});

test('the audit log shows every event, filtered by person, kind and day, and downloads as CSV, with and without the WebAssembly', async ({ page, server, browser }) => {
  await readyUser(page, server);
  latchkeyAdmin(server, 'org', 'set', 'require-two-step', 'on');
  await page.goto(server.baseURL + '/admin');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page).toHaveURL(server.baseURL + '/admin/audit');
  await expect(page).toHaveTitle('Audit log - Latchkey');
  await hydrated(page);
  const events = page.getByRole('list', { name: 'Audit events' });
  await expect(events.getByRole('listitem').first()).toContainText('policy.changed');
  await expect(events).toContainText('setup.completed');

  await page.getByLabel('Kind').selectOption('sign_in.succeeded');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(server.baseURL + '/admin/audit?kind=sign_in.succeeded');
  await expect(events.getByRole('listitem')).toHaveCount(1);
  await expect(events).toContainText('ada@contoso.example');

  await page.getByLabel('Person (sign-in name)').fill('nobody@contoso.example');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByText('No one has the sign-in name "nobody@contoso.example".')).toBeVisible();

  await page.getByLabel('Person (sign-in name)').fill('');
  await page.getByLabel('Kind').selectOption('');
  await page.getByRole('button', { name: 'Show' }).click();
  const csvHref = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
  const csv = await page.request.get(server.baseURL + csvHref);
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-type']).toContain('text/csv');
  const text = await csv.text();
  // Every cell quoted, so no spreadsheet splits one into a formula.
  expect(text.split('\n')[0]).toBe('"time","actor","person","kind","detail","address","client","count"');
  expect(text).toContain('policy.changed');
  expect(text).toContain('setup.completed');
  // Who did it: the setting was changed from the command line.
  expect(text).toMatch(/"command line","","policy\.changed"/);
  await expect(events.getByRole('listitem').filter({ hasText: 'policy.changed' })).toContainText('by command line');

  // Without the WebAssembly the filters are a plain GET form.
  const plain = await pageWithoutScripts(browser, server, '/admin/audit', page);
  await plain.getByLabel('Kind').selectOption('sign_in.succeeded');
  await plain.getByRole('button', { name: 'Show' }).click();
  await expect(plain).toHaveURL(/\/admin\/audit\?.*kind=sign_in\.succeeded/);
  await expect(plain.getByRole('list', { name: 'Audit events' }).getByRole('listitem')).toHaveCount(1);
  await plain.context().close();
});

test('an administrator adds a person and resets a password; each time the person sets theirs with the one-time link, with and without the WebAssembly', async ({ page, server, browser }) => {
  await completeSetup(page, server, { allowAppPasswords: true });
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  await page.goto(server.baseURL + '/admin');
  await hydrated(page);
  await page.getByRole('link', { name: 'Add person' }).click();
  const add = page.getByRole('dialog', { name: 'Add person' });
  await add.getByLabel('Name', { exact: true }).fill('Grace Hopper');
  await add.getByLabel('Sign-in name').fill('grace at contoso');
  await add.getByRole('button', { name: 'Add' }).click();
  // What was typed stays; the refusal names the field.
  await expect(add.getByText('Enter a sign-in name like someone@example.org, without spaces.')).toBeVisible();
  await expect(add.getByLabel('Name', { exact: true })).toHaveValue('Grace Hopper');
  await add.getByLabel('Sign-in name').fill('grace@contoso.example');
  await add.getByRole('button', { name: 'Add' }).click();
  const welcome = add.getByLabel('One-time link');
  await expect(welcome).toHaveValue(/\/set-password\?token=[0-9a-f]{64}$/);
  const welcomeUrl = await welcome.inputValue();
  await expect(add).toContainText("This is the only time you'll see this link.");
  await add.getByRole('link', { name: 'Done' }).click();
  await expect(add).toBeHidden();
  await expect(page.getByRole('list', { name: 'People' })).toContainText('grace@contoso.example');

  // Grace opens it in her own browser and chooses her password.
  const graceBrowser = await browser.newContext();
  const grace = await graceBrowser.newPage();
  await grace.goto(welcomeUrl);
  await expect(grace).toHaveTitle('Set your password - Latchkey');
  await expect(grace.getByText("Welcome. Choose the password you'll sign in with.")).toBeVisible();
  await hydrated(grace);
  await grace.getByLabel('New password', { exact: true }).fill('too short');
  await grace.getByLabel('Confirm new password').fill('too short');
  await grace.getByRole('button', { name: 'Set password' }).click();
  await expect(grace.getByText('Use at least 12 characters (this one has 9).')).toBeVisible();
  await grace.getByLabel('New password', { exact: true }).fill('a long enough password');
  await grace.getByLabel('Confirm new password').fill('a long enough password');
  await grace.getByRole('button', { name: 'Set password' }).click();
  await expect(grace).toHaveURL(/\/signin\?password=set&username=grace%40contoso\.example$/);
  await expect(grace.getByText('Your password is set. Sign in with it.')).toBeVisible();
  await grace.getByLabel('Password', { exact: true }).fill('a long enough password');
  await grace.getByRole('button', { name: 'Sign in' }).click();
  await expect(grace).toHaveURL(server.baseURL + '/');
  // It worked once.
  await grace.goto(welcomeUrl);
  await expect(grace.getByRole('heading', { name: "This link doesn't work" })).toBeVisible();
  await expect(grace.getByRole('alert')).toContainText('This link has expired or was already used.');

  // A reset from the console without the WebAssembly: confirmed, then the link, once.
  const plain = await pageWithoutScripts(browser, server, '/admin?q=grace', page);
  const row = plain.getByRole('list', { name: 'People' }).getByRole('listitem').first();
  await row.getByRole('link', { name: 'Reset password of grace@contoso.example' }).click();
  const reset = plain.getByRole('dialog', { name: 'Reset password' });
  await expect(reset).toContainText('Reset the password of Grace Hopper (grace@contoso.example)?');
  await reset.getByRole('button', { name: 'Reset password' }).click();
  await plain.waitForLoadState('load');
  const resetLink = plain.getByRole('dialog', { name: 'Reset password' }).getByLabel('One-time link');
  await expect(resetLink).toHaveValue(/\/set-password\?token=[0-9a-f]{64}$/);
  const resetUrl = await resetLink.inputValue();
  await plain.context().close();
  expect(latchkeyAdmin(server, 'audit', '--user', 'grace@contoso.example')).toMatch(/password\.reset.*with a one-time link/);

  // Her session ended, and her old password no longer signs her in.
  await grace.goto(server.baseURL + '/security-info');
  await expect(grace).toHaveURL(/\/signin\?next=/);
  await graceBrowser.close();

  // She sets a new one without the WebAssembly.
  const noScripts = await browser.newContext({ javaScriptEnabled: false });
  const graceAgain = await noScripts.newPage();
  await graceAgain.goto(resetUrl);
  await expect(graceAgain.getByText('Your administrator reset your password.')).toBeVisible();
  await graceAgain.getByLabel('New password', { exact: true }).fill('another long password');
  await graceAgain.getByLabel('Confirm new password').fill('another long password');
  await graceAgain.getByRole('button', { name: 'Set password' }).click();
  await expect(graceAgain).toHaveURL(/\/signin\?password=set&username=grace%40contoso\.example$/);
  await expect(graceAgain.getByText('Your password is set. Sign in with it.')).toBeVisible();
  await noScripts.close();
  const fresh = await browser.newContext();
  const signedIn = await fresh.newPage();
  await signIn(signedIn, server, { username: 'grace@contoso.example', password: 'another long password' });
  await expect(signedIn).toHaveURL(server.baseURL + '/');
  await fresh.close();

  // A reset in the hydrated console: the list is read again behind the dialog, and the link
  // stays shown until Done.
  await page.goto(server.baseURL + '/admin?q=grace');
  await hydrated(page);
  await page.getByRole('link', { name: 'Reset password of grace@contoso.example' }).click();
  const hydratedReset = page.getByRole('dialog', { name: 'Reset password' });
  await expect(hydratedReset).toContainText('Reset the password of Grace Hopper (grace@contoso.example)?');
  await hydratedReset.getByRole('button', { name: 'Reset password' }).click();
  const shownLink = hydratedReset.getByLabel('One-time link');
  await expect(shownLink).toHaveValue(/\/set-password\?token=[0-9a-f]{64}$/);
  expect(await shownLink.inputValue()).not.toEqual(resetUrl);
  // Still there once the list has been read again.
  await page.waitForTimeout(500);
  await expect(shownLink).toBeVisible();
  await hydratedReset.getByRole('link', { name: 'Done' }).click();
  await expect(hydratedReset).toBeHidden();
  await expect(page).toHaveURL(server.baseURL + '/admin?q=grace');
});

test('after 10 minutes the console asks "Confirm it\'s you" once, then changes go through (hydrated)', async ({ page, server }) => {
  const secret = await readyUser(page, server);
  // Age every session's last verification by years (Python's sqlite3 on the server's file).
  sql(server.databaseUrl, "UPDATE sessions SET verified_at = '2020' || substr(verified_at, 5)");
  await page.goto(server.baseURL + '/admin');
  await hydrated(page);
  const prompt = page.getByRole('region', { name: "Confirm it's you" });
  await expect(prompt).toBeVisible();
  // A one-click change is refused until then, and says why.
  const settings = page.getByRole('list', { name: 'Organization settings' });
  const twoStep = settings.getByRole('listitem').filter({ hasText: 'Require two-step verification' });
  await twoStep.getByRole('button', { name: 'Require two-step verification: turn on' }).click();
  await expect(page.getByText("For your security, confirm it's you before you continue.").first()).toBeVisible();
  await expect(twoStep).toContainText('Off');
  await prompt.getByLabel('Your password').fill(ADMIN.password);
  await prompt.getByLabel('Code from your authenticator app').fill(totp(secret, Date.now() / 1000 + 30));
  await prompt.getByRole('button', { name: 'Confirm' }).click();
  await expect(prompt).toBeHidden();
  await twoStep.getByRole('button', { name: 'Require two-step verification: turn on' }).click();
  await expect(twoStep).toContainText('On');
  expect(latchkeyAdmin(server, 'org', 'show')).toMatch(/require-two-step:\s+on/);
});

test('an administrator resets a person\'s methods; the person signs in with the password and is asked to add a method', async ({ page, server, browser }) => {
  await readyUser(page, server);
  addPerson(server, 'grace@contoso.example', 'a long enough password');
  // Grace has an authenticator app and is signed in in her own browser.
  const graceBrowser = await browser.newContext();
  const grace = await graceBrowser.newPage();
  await signIn(grace, server, { username: 'grace@contoso.example', password: 'a long enough password' });
  await expect(grace).toHaveURL(server.baseURL + '/');
  await addAuthenticator(grace, server);
  latchkeyAdmin(server, 'org', 'set', 'require-two-step', 'on');

  // She lost her phone: the administrator resets her methods from the console.
  await page.goto(server.baseURL + '/admin?q=grace');
  await hydrated(page);
  const row = page.getByRole('list', { name: 'People' }).getByRole('listitem').first();
  await expect(row).toContainText('grace@contoso.example');
  await expect(row).toContainText('Two-step verification');
  await row.getByRole('link', { name: 'Reset methods grace@contoso.example' }).click();
  await expect(page).toHaveURL(server.baseURL + '/admin?q=grace&confirm=reset_methods%3Agrace%40contoso.example');
  const confirm = page.getByRole('dialog', { name: 'Reset sign-in methods?' });
  await expect(confirm).toContainText('Reset the sign-in methods of Grace Hopper (grace@contoso.example)?');
  await expect(confirm).toContainText('they are signed out everywhere');
  await expect(confirm).toContainText('At their next sign-in they will be asked to add a method.');
  // Only one's own reset asks for the box.
  await expect(confirm.getByLabel('I understand')).toHaveCount(0);
  await noAxeViolations(page, 'Reset sign-in methods');
  await confirm.getByRole('button', { name: 'Reset methods' }).click();
  await expect(confirm).toBeHidden();
  await expect(page).toHaveURL(server.baseURL + '/admin?q=grace');
  await expect(row).toContainText('No two-step verification');
  await expect(row.getByRole('link', { name: 'Reset methods grace@contoso.example' })).toHaveCount(0);
  expect(latchkeyAdmin(server, 'audit', '--user', 'grace@contoso.example')).toMatch(/methods\.reset.*1 authenticator app removed.*\(by ada@contoso\.example\)/);

  // Her browser was signed out.
  await grace.goto(server.baseURL + '/security-info');
  await expect(grace).toHaveURL(/\/signin\?next=/);
  // With her password alone she is in, and asked to add a method before anything else.
  await signIn(grace, server, { username: 'grace@contoso.example', password: 'a long enough password' });
  await expect(grace).toHaveURL(server.baseURL + '/security-info?add=authenticator');
  // The dialog says why it is open and what Continue does.
  const requiredGrace = grace.getByRole('dialog', { name: 'Authenticator app' });
  await expect(requiredGrace.getByText('Your organization requires two-step verification.')).toBeVisible();
  await expect(requiredGrace.getByText('Continue shows a QR code')).toBeVisible();
  await grace.goto(server.baseURL + '/activity');
  await expect(grace).toHaveURL(server.baseURL + '/security-info');
  // She adds one again, and is in.
  await addAuthenticator(grace, server);
  await grace.goto(server.baseURL + '/activity');
  await expect(grace.getByRole('list', { name: 'Your recent activity' })).toContainText('Sign-in methods reset by an administrator');
  await graceBrowser.close();

  // The administrator's own methods: the dialog says what follows and asks for the box.
  await page.goto(server.baseURL + '/admin?confirm=reset_methods%3Aada%40contoso.example');
  await hydrated(page);
  const own = page.getByRole('dialog', { name: 'Reset sign-in methods?' });
  await expect(own).toContainText('These are your own methods: you will be signed out everywhere, here too.');
  await expect(own).toContainText("you can't use the console until you do.");
  await noAxeViolations(page, 'Reset your own sign-in methods');
  await own.getByRole('button', { name: 'Reset methods' }).click();
  // Not ticked: the browser keeps the form, nothing is sent.
  await expect(own).toBeVisible();
  expect(latchkeyAdmin(server, 'audit', '--user', ADMIN.username)).not.toMatch(/methods\.reset/);
  await own.getByLabel('I understand').check();
  await own.getByRole('button', { name: 'Reset methods' }).click();
  // The page could not know that nobody else administers: the server says so, and asks again.
  await expect(own).toContainText('You are the last administrator, so nobody can use it until then.');
  expect(latchkeyAdmin(server, 'audit', '--user', ADMIN.username)).not.toMatch(/methods\.reset/);
  // "No" takes the refusal away with the dialog: nothing of it is left on the console.
  await own.getByRole('link', { name: 'No' }).click();
  await expect(own).toBeHidden();
  await expect(page.getByText('You are the last administrator, so nobody can use it until then.')).toHaveCount(0);
  await page.goBack();
  await expect(own).toBeVisible();
  await own.getByLabel('I understand').check();
  await own.getByRole('button', { name: 'Reset methods' }).click();
  await expect(page).toHaveURL(server.baseURL + '/signin?next=/admin');
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/security-info?add=authenticator');
  await page.goto(server.baseURL + '/admin');
  await expect(page).toHaveURL(server.baseURL + '/security-info');
});

// Passkeys and security keys with Chromium's virtual authenticator (DevTools Protocol's
// WebAuthn domain: CTAP2, internal transport, resident keys, user verification), against a
// server at http://localhost:PORT (browsers refuse an IP address as a relying party): add a
// passkey on Security info, sign in with the password and the passkey, sign in with the
// passkey alone, confirm it's her with it in the console, rename it, delete it; axe on the new controls; and the no-JavaScript pages,
// which say passkeys need JavaScript and offer the other ways.
import AxeBuilder from '@axe-core/playwright';
import type { CDPSession, Page } from '@playwright/test';
import {
  test as base, expect, completeSetup, signIn, hydrated, pageWithoutScripts, startServer, addAuthenticator, sql, totp, ADMIN,
  type LatchkeyServer, skipRecoveryCodes,
} from './fixtures';

/** The shared fixtures, with the server reached and known as http://localhost:PORT. */
const test = base.extend<{ server: LatchkeyServer }>({
  server: async ({}, use, testInfo) => {
    const { server, stop } = await startServer({}, { host: 'localhost' });
    await use(server);
    await stop();
    if (testInfo.status !== testInfo.expectedStatus) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(testInfo.outputPath('server.log'), server.log());
    }
  },
});

/** The virtual authenticator is Chromium's: the phone project runs this file too (Chromium). */
async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function credentials(cdp: CDPSession, authenticatorId: string) {
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  return credentials;
}

/** axe-core finds nothing on the page as it is now. */
async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

function methods(page: Page) {
  return page.getByRole('list', { name: 'Your sign-in methods' });
}

/** The row of the passkey named `name` on Security info. */
function passkeyRow(page: Page, name: string) {
  return methods(page).getByRole('listitem').filter({ hasText: 'Passkey or security key:' }).filter({ hasText: name });
}

/** Add method > "Passkey or security key" > a name > the browser's prompt (answered by the
 *  virtual authenticator); the dialog closes (the person's first second factor: for the
 *  recovery codes, which are left for later). */
async function addPasskey(page: Page, name: string, first: boolean) {
  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('passkey');
  await chooser.getByRole('button', { name: 'Add' }).click();
  const dialog = page.getByRole('dialog', { name: 'Passkey or security key' });
  await dialog.getByLabel('Name it (so you can tell your keys apart)').fill(name);
  await noViolations(page, 'adding a passkey');
  await dialog.getByRole('button', { name: 'Add passkey' }).click();
  await expect(dialog).toBeHidden();
  if (first) await skipRecoveryCodes(page);
}

/** The sign-in name and password of the administrator, up to the second step. */
async function passwordStep(page: Page) {
  await page.getByLabel('Sign-in name').fill(ADMIN.username);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs this browser out (its cookies go) and opens the sign-in page. */
async function signOut(page: Page, server: LatchkeyServer) {
  await page.context().clearCookies();
  await page.goto(server.baseURL + '/signin');
}

test('add a passkey, sign in with it after the password and alone, rename and delete it', async ({ page, server }) => {
  expect(server.baseURL).toMatch(/^http:\/\/localhost:\d+$/);
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');

  // Add one: a name, then the browser's prompt (answered by the virtual authenticator).
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  await addPasskey(page, 'Work laptop', true);
  const row = passkeyRow(page, 'Work laptop');
  await expect(row).toBeVisible();
  await expect(row).toContainText('never used');
  const made = await credentials(cdp, authenticatorId);
  expect(made).toHaveLength(1);
  expect(made[0].isResidentCredential).toBe(true);
  expect(made[0].rpId).toBe('localhost');
  await noViolations(page, 'Security info with a passkey');

  // The password, then the passkey: her only second factor, so asked for first, and nothing
  // else to offer (no authenticator app, no recovery codes).
  await signOut(page, server);
  await passwordStep(page);
  await expect(page.getByRole('heading', { name: 'Use your passkey' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Sign in another way' })).toHaveCount(0);
  // Only the way out of a lost key: the administrator.
  await expect(page.getByRole('region', { name: "Can't use it?" })).toContainText('administrator can reset your sign-in methods');
  await hydrated(page);
  await noViolations(page, 'the passkey step');
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');
  expect((await credentials(cdp, authenticatorId))[0].signCount).toBeGreaterThan(made[0].signCount);

  // Passwordless: no name typed.
  await signOut(page, server);
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');

  // Change password long after signing in: no code field (she has no authenticator app); the
  // server asks for the passkey, which confirms it's her, and the same form then goes through.
  const longAgo = "UPDATE sessions SET verified_at = '2020' || substr(verified_at, 5)";
  sql(server.databaseUrl, longAgo);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  await methods(page).getByRole('button', { name: 'Change' }).click();
  const change = page.getByRole('dialog', { name: 'Change password' });
  await change.getByLabel('Current password').fill(ADMIN.password);
  await change.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
  await change.getByLabel('Confirm new password').fill('a brand new passphrase');
  await expect(change.getByLabel('Code from your authenticator app')).toHaveCount(0);
  await change.getByRole('button', { name: 'Change password' }).click();
  await expect(change.getByRole('alert').filter({ hasText: 'Your second step is a passkey' })).toBeVisible();
  await change.getByRole('button', { name: 'Confirm with a passkey' }).click();
  await expect(change.getByRole('button', { name: 'Confirm with a passkey' })).toBeHidden();
  await change.getByRole('button', { name: 'Change password' }).click();
  await expect(change.getByRole('status')).toContainText('Your password was changed.');

  // The console, long after signing in: her only second factor is the passkey, so a dialog
  // asks for no code and confirms with the passkey, keeping what was typed.
  sql(server.databaseUrl, longAgo);
  await page.goto(server.baseURL + '/admin?add=person');
  await hydrated(page);
  const add = page.getByRole('dialog', { name: 'Add person' });
  await add.getByLabel('Name', { exact: true }).fill('Grace Hopper');
  await add.getByLabel('Sign-in name').fill('grace@contoso.example');
  await expect(add.getByLabel('Your password')).toBeVisible();
  await expect(add.getByLabel('Code from your authenticator app')).toHaveCount(0);
  await add.getByRole('button', { name: 'Confirm with a passkey' }).click();
  await expect(add.getByLabel('Your password')).toBeHidden();
  await add.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(add.getByLabel('One-time link')).toBeVisible();

  // Rename, then delete (a recent sign-in: no "confirm it's you").
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  await expect(passkeyRow(page, 'Work laptop')).toContainText('last used');
  await passkeyRow(page, 'Work laptop').getByText('Rename', { exact: true }).click();
  await passkeyRow(page, 'Work laptop').getByLabel('New name').fill('Phone');
  await passkeyRow(page, 'Work laptop').getByRole('button', { name: 'Save' }).click();
  await expect(passkeyRow(page, 'Phone')).toBeVisible();
  await expect(passkeyRow(page, 'Work laptop')).toHaveCount(0);

  await passkeyRow(page, 'Phone').getByText('Delete', { exact: true }).click();
  await noViolations(page, 'deleting a passkey');
  await passkeyRow(page, 'Phone').getByRole('button', { name: 'Yes, delete' }).click();
  await expect(passkeyRow(page, 'Phone')).toHaveCount(0);

  // Gone from the server: the authenticator's key no longer signs in.
  await signOut(page, server);
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('alert').filter({ hasText: "That passkey wasn't accepted" })).toBeVisible();
});

test('the default sign-in method comes first, another way is one link away, and a passkey confirms it is you', async ({ page, server }) => {
  await addVirtualAuthenticator(page);
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  const secret = await addAuthenticator(page, server);
  await hydrated(page);
  await addPasskey(page, 'Work laptop', false);
  await expect(page.getByText('Default sign-in method:')).toContainText('Authenticator app');

  // Change it to the passkey.
  await page.getByRole('button', { name: 'Change default sign-in method' }).click();
  const dialog = page.getByRole('dialog', { name: 'Default sign-in method' });
  await noViolations(page, 'the default sign-in method dialog');
  await dialog.getByLabel('Which method should sign-in ask for first?').selectOption({ label: 'Passkey or security key' });
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('Default sign-in method:')).toContainText('Passkey or security key');

  // Sign-in asks for the passkey first; "Sign in another way" leads to the app's code.
  await signOut(page, server);
  await passwordStep(page);
  await expect(page.getByRole('heading', { name: 'Use your passkey' })).toBeVisible();
  const others = page.getByRole('region', { name: 'Sign in another way' });
  await expect(others.getByRole('link')).toHaveText(['Use a code from your authenticator app']);
  await others.getByRole('link', { name: 'Use a code from your authenticator app' }).click();
  await expect(page.getByRole('heading', { name: 'Enter code' })).toBeVisible();
  await expect(others.getByRole('link')).toHaveText(['Use a passkey or security key']);
  await page.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now() / 1000 + 30));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');

  // Long after signing in, "Get codes" asks to confirm it's her: the passkey does it.
  sql(server.databaseUrl, "UPDATE sessions SET verified_at = '2020' || substr(verified_at, 5)");
  await page.goto(server.baseURL + '/security-info?codes=new');
  await hydrated(page);
  const codes = page.getByRole('dialog', { name: 'Recovery codes' });
  await expect(codes.getByLabel('Password')).toBeVisible();
  await codes.getByRole('button', { name: 'Confirm with a passkey' }).click();
  await expect(codes.getByLabel('Password')).toBeHidden();
  await codes.getByRole('button', { name: 'Get new codes' }).click();
  await expect(codes.getByLabel('Your recovery codes')).toBeVisible();
});

test('without JavaScript the pages say passkeys need it and offer the other ways', async ({ page, browser, server }) => {
  await completeSetup(page, server);
  const signInPage = await pageWithoutScripts(browser, server, '/signin');
  await expect(signInPage.getByText('Passkeys need JavaScript')).toBeVisible();
  await expect(signInPage.getByLabel('Sign-in name')).toBeVisible();
  await signInPage.context().close();

  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  // Add method > "Passkey or security key" without JavaScript: its dialog says so.
  const securityInfo = await pageWithoutScripts(browser, server, '/security-info', page);
  await securityInfo.getByRole('button', { name: 'Add method' }).click();
  const chooser = securityInfo.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('passkey');
  await chooser.getByRole('button', { name: 'Add' }).click();
  const dialog = securityInfo.getByRole('dialog', { name: 'Passkey or security key' });
  await expect(dialog.getByText('Passkeys need JavaScript')).toBeVisible();
  await expect(dialog.getByText('Add method offers the other kinds')).toBeVisible();
  await securityInfo.context().close();
});

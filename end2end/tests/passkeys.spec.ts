// Passkeys and security keys with Chromium's virtual authenticator (DevTools Protocol's
// WebAuthn domain: CTAP2, internal transport, resident keys, user verification), against a
// server at http://localhost:PORT (browsers refuse an IP address as a relying party): add a
// passkey on Security info, sign in with the password and the passkey, sign in with the
// passkey alone, rename it, delete it; axe on the new controls; and the no-JavaScript pages,
// which say passkeys need JavaScript and offer the other ways.
import AxeBuilder from '@axe-core/playwright';
import type { CDPSession, Page } from '@playwright/test';
import { test as base, expect, completeSetup, signIn, hydrated, pageWithoutScripts, startServer, ADMIN, type LatchkeyServer } from './fixtures';

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
  await page.getByText('Add a passkey or security key', { exact: true }).click();
  await page.getByLabel('Name it (so you can tell your keys apart)').fill('Work laptop');
  await noViolations(page, 'adding a passkey');
  await page.getByRole('button', { name: 'Add passkey' }).click();
  const row = passkeyRow(page, 'Work laptop');
  await expect(row).toBeVisible();
  await expect(row).toContainText('never used');
  const made = await credentials(cdp, authenticatorId);
  expect(made).toHaveLength(1);
  expect(made[0].isResidentCredential).toBe(true);
  expect(made[0].rpId).toBe('localhost');
  await noViolations(page, 'Security info with a passkey');

  // The password, then the passkey at the code step.
  await signOut(page, server);
  await page.getByLabel('Sign-in name').fill(ADMIN.username);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Enter code' })).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');
  expect((await credentials(cdp, authenticatorId))[0].signCount).toBeGreaterThan(made[0].signCount);

  // Passwordless: no name typed.
  await signOut(page, server);
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');

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

test('without JavaScript the pages say passkeys need it and offer the other ways', async ({ page, browser, server }) => {
  await completeSetup(page, server);
  const signInPage = await pageWithoutScripts(browser, server, '/signin');
  await expect(signInPage.getByText('Passkeys need JavaScript')).toBeVisible();
  await expect(signInPage.getByLabel('Sign-in name')).toBeVisible();
  await signInPage.context().close();

  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  const securityInfo = await pageWithoutScripts(browser, server, '/security-info', page);
  await securityInfo.getByText('Add a passkey or security key', { exact: true }).click();
  await expect(securityInfo.getByText('Passkeys need JavaScript')).toBeVisible();
  await securityInfo.context().close();
});

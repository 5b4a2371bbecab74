import type { Locator } from '@playwright/test';
import { test, expect, completeSetup, signIn, addAuthenticator, addPerson, readyUser, startOtherSite, totp, ADMIN, pageWithoutScripts, sql, hydrated, skipRecoveryCodes } from './fixtures';

test('wrong password gets one clear message; a protected page sends people back after sign-in', async ({ page, server }) => {
  await completeSetup(page, server);
  await page.goto(server.baseURL + '/security-info');
  await expect(page).toHaveURL(/\/signin\?next=\/security-info$/);
  await page.getByLabel('Sign-in name').fill(ADMIN.username);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Your account or password is incorrect.')).toBeVisible();
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/security-info$/);
  await expect(page.getByText('Default sign-in method:')).toContainText('Password');
});

test('enroll an authenticator app, sign out, sign in with the second step', async ({ page, server }) => {
  await completeSetup(page, server);
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await expect(page).toHaveURL(/\/security-info$/);

  await page.getByRole('button', { name: 'Add method' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a method' });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Which method would you like to add?').selectOption('authenticator');
  await dialog.getByRole('button', { name: 'Add' }).click();
  const enroll = page.getByRole('dialog', { name: 'Authenticator app' });
  await expect(enroll.getByRole('img', { name: /QR code/ })).toBeVisible();
  const secret = (await enroll.locator('#totp-secret').textContent()) ?? '';
  expect(secret.replace(/\s/g, '')).toMatch(/^[A-Z2-7]{32}$/);

  await enroll.getByLabel('Code', { exact: true }).fill('000000');
  await enroll.getByRole('button', { name: 'Next' }).click();
  await expect(enroll.getByText("That code didn't work.")).toBeVisible();
  await enroll.getByLabel('Code', { exact: true }).fill(totp(secret));
  await enroll.getByRole('button', { name: 'Next' }).click();
  await expect(enroll).toBeHidden();
  // The first second factor goes on to recovery codes, the way in after a lost phone.
  await skipRecoveryCodes(page);
  const methods = page.getByRole('list', { name: 'Your sign-in methods' });
  await expect(methods.getByText('Authenticator app:')).toBeVisible();
  await expect(page.getByText('Default sign-in method:')).toContainText('Authenticator app');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin\?signed_out=1$/);
  await expect(page.getByRole('status')).toHaveText('You signed out.');

  // Second step: a wrong code is refused, the right one signs in.
  await page.getByLabel('Sign-in name').fill(ADMIN.username);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Enter code' })).toBeVisible();
  await page.getByLabel('Code', { exact: true }).fill('123456' === totp(secret) ? '654321' : '123456');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByText("That code didn't work.")).toBeVisible();
  await page.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now() / 1000 + 30));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');

  // Delete the method after confirming.
  await page.goto(server.baseURL + '/security-info');
  await methods.getByRole('button', { name: 'Delete' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete authenticator app?' });
  await confirm.getByRole('link', { name: 'No' }).click();
  await expect(methods.getByText('Authenticator app:')).toBeVisible();
  await methods.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(methods.getByText('Authenticator app:')).toBeHidden();
});

test('a sign-in name with letters beyond English signs in (the browser does not refuse it as an address)', async ({ page, server }) => {
  await completeSetup(page, server);
  addPerson(server, 'élodie@école.fr', 'a long enough password', 'Élodie Martin');
  await signIn(page, server, { username: 'élodie@école.fr', password: 'a long enough password' });
  await expect(page).toHaveURL(server.baseURL + '/');
  await expect(page.getByRole('region', { name: 'Your account' })).toContainText('élodie@école.fr');
});

test('"Start again" after the half-done sign-in is gone still leads where the person was going', async ({ page, server }) => {
  const phone = await readyUser(page, server);
  await page.context().clearCookies();
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await expect(page.getByRole('heading', { name: 'Enter code' })).toBeVisible();
  // The sign-in waiting for its code ends (it expired, say).
  sql(server.databaseUrl, 'DELETE FROM sessions');
  const enterCode = async () => {
    // Unused by the refused try, which never reached the code.
    await page.getByLabel('Code', { exact: true }).fill(totp(phone, Date.now() / 1000 + 30));
    await page.getByRole('button', { name: 'Verify' }).click();
  };
  await enterCode();
  await page.getByRole('link', { name: 'Start again' }).click();
  await expect(page).toHaveURL(server.baseURL + '/signin?next=/security-info');
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await enterCode();
  await expect(page).toHaveURL(server.baseURL + '/security-info');
});

/** Fills the Change password dialog: the current password and the new one twice. */
async function fillPasswords(dialog: Locator, current: string, next: string) {
  await dialog.getByLabel('Current password').fill(current);
  await dialog.getByLabel('New password', { exact: true }).fill(next);
  await dialog.getByLabel('Confirm new password').fill(next);
}

test('change password from the Password row', async ({ page, server }) => {
  await completeSetup(page, server);
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await page.getByRole('list', { name: 'Your sign-in methods' }).getByRole('button', { name: 'Change' }).click();
  const dialog = page.getByRole('dialog', { name: 'Change password' });
  await fillPasswords(dialog, ADMIN.password, 'password1234');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByText('too easy to guess')).toBeVisible();
  await dialog.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
  await dialog.getByLabel('Confirm new password').fill('a brand new passphrase');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByRole('status')).toContainText('Your password was changed.');
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(page.getByText('Last updated: just now')).toBeVisible();
});

test('a password change asks for a code when the sign-in grew older than 10 minutes with the dialog open', async ({ page, server }) => {
  const phone = await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  await page.getByRole('list', { name: 'Your sign-in methods' }).getByRole('button', { name: 'Change' }).click();
  const dialog = page.getByRole('dialog', { name: 'Change password' });
  await expect(dialog.getByLabel('Code from your authenticator app')).toBeHidden();
  // Ten minutes pass while the dialog is open.
  sql(server.databaseUrl, "UPDATE sessions SET verified_at = '2020' || substr(verified_at, 5)");
  await fillPasswords(dialog, ADMIN.password, 'a brand new passphrase');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByText('Enter the 6-digit code from your authenticator app.')).toBeVisible();
  await fillPasswords(dialog, ADMIN.password, 'a brand new passphrase');
  // The next 30 seconds' code: the one of the sign-in cannot be used twice.
  await dialog.getByLabel('Code from your authenticator app').fill(totp(phone, Date.now() / 1000 + 30));
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByRole('status')).toContainText('Your password was changed.');
});

test('change password works before the WebAssembly loads', async ({ page, server, browser }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  await plain.getByRole('list', { name: 'Your sign-in methods' }).getByRole('button', { name: 'Change' }).click();
  const dialog = plain.getByRole('dialog', { name: 'Change password' });
  await fillPasswords(dialog, ADMIN.password, 'password1234');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByText('too easy to guess')).toBeVisible();
  await fillPasswords(dialog, ADMIN.password, 'a brand new passphrase');
  await dialog.getByRole('button', { name: 'Change password' }).click();
  await expect(dialog.getByRole('status')).toContainText('Your password was changed.');
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(plain.getByText('Last updated: just now')).toBeVisible();
  await expect(plain.getByRole('dialog', { name: 'Change password' })).toBeHidden();
  await plain.context().close();
});

test('adding and deleting an authenticator app work before the WebAssembly loads', async ({ page, server, browser }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  await plain.getByRole('button', { name: 'Add method' }).click();
  const chooser = plain.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('authenticator');
  await chooser.getByRole('button', { name: 'Add' }).click();
  const dialog = plain.getByRole('dialog', { name: 'Authenticator app' });
  const secretShown = async () => ((await dialog.locator('#totp-secret').textContent()) ?? '').replace(/\s/g, '');
  const secret = await secretShown();
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
  // On the phone itself, a link opens the authenticator app with the same key.
  await expect(dialog.getByRole('link', { name: 'Open in authenticator app' })).toHaveAttribute(
    'href',
    new RegExp(`^otpauth://totp/.*[?&]secret=${secret}(&|$)`),
  );
  await dialog.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now() / 1000 - 3600));
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByText("That code didn't work.")).toBeVisible();
  // The same secret again: the app the person just set up keeps working.
  expect(await secretShown()).toBe(secret);
  await dialog.getByLabel('Code', { exact: true }).fill(totp(secret));
  await dialog.getByRole('button', { name: 'Next' }).click();
  // The first second factor goes on to recovery codes here too.
  await expect(plain).toHaveURL(server.baseURL + '/security-info?codes=new');
  await skipRecoveryCodes(plain);
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  const methods = plain.getByRole('list', { name: 'Your sign-in methods' });
  await expect(methods.getByText('Authenticator app:')).toBeVisible();
  // Deleting asks first, also without the WebAssembly; on a phone, in view over the page (the
  // dialog has no field to scroll to), not at its place further down.
  await plain.setViewportSize({ width: 390, height: 640 });
  await methods.getByRole('button', { name: 'Delete' }).click();
  const confirm = plain.getByRole('dialog', { name: 'Delete authenticator app?' });
  await expect(confirm).toBeInViewport({ ratio: 1 });
  await confirm.getByRole('link', { name: 'No' }).click();
  await expect(confirm).toBeHidden();
  await expect(methods.getByText('Authenticator app:')).toBeVisible();
  await methods.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  await expect(methods.getByText('Authenticator app:')).toBeHidden();
  // And the preview notice can be dismissed.
  await plain.getByRole('button', { name: 'Dismiss notice' }).click();
  await expect(plain.getByRole('region', { name: 'Preview notice' })).toBeHidden();
  await plain.context().close();
});

test('a cross-origin server-function call is rejected', async ({ page, server }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  // Another website posts a form to one of our server functions (classic cross-site request forgery).
  const other = await startOtherSite(
    `<!doctype html><title>elsewhere</title><form method="post" action="${server.baseURL}/api/sign_out"><button>Win a prize</button></form>`,
  );
  try {
    await page.goto(other.origin + '/');
    const refused = page.waitForResponse((r) => r.url().startsWith(server.baseURL + '/api/sign_out'));
    await page.getByRole('button', { name: 'Win a prize' }).click();
    expect((await refused).status()).toBe(403);
    await expect(page.getByText('Refused: this request came from another website.')).toBeVisible();
  } finally {
    other.close();
  }
  // And the session survived.
  await page.goto(server.baseURL + '/');
  await expect(page).toHaveURL(server.baseURL + '/');
});

test('a sign-out that does not reach the server says the person is still signed in', async ({ page, server, consoleProblems }) => {
  await completeSetup(page, server);
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await hydrated(page);
  await page.route('**/api/sign_out*', (route) => route.abort());
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(page.getByRole('alert').filter({ hasText: "Nobody was signed out. Couldn't reach Latchkey" })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'You are still signed in.' })).toBeVisible();
  await expect(page).toHaveURL(server.baseURL + '/security-info');
  await page.unroute('**/api/sign_out*');
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin\?signed_out=1$/);
  // The browser reports the two requests this test cut off; nothing else may be reported.
  const cutOff = (problem: string) => problem.includes('net::ERR_FAILED');
  expect(consoleProblems.filter(cutOff)).toHaveLength(2);
  consoleProblems.splice(0, consoleProblems.length, ...consoleProblems.filter((problem) => !cutOff(problem)));
});

test('sign out everywhere ends the session', async ({ page, server }) => {
  await completeSetup(page, server);
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(page).toHaveURL(/signed_out=everywhere/);
  await page.goto(server.baseURL + '/security-info');
  await expect(page).toHaveURL(/\/signin\?next=/);
});

test('sign-in works before the WebAssembly loads, and its errors say what went wrong', async ({ page, server, browser }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  const secret = await addAuthenticator(page, server);
  // A browser that has not run the WebAssembly yet: every step is a plain form.
  const plain = await pageWithoutScripts(browser, server, '/signin?next=/security-info');
  await plain.getByLabel('Sign-in name').fill(ADMIN.username);
  await plain.getByRole('button', { name: 'Next' }).click();
  await plain.getByLabel('Password', { exact: true }).fill('not the password');
  await plain.getByRole('button', { name: 'Sign in' }).click();
  // Back on the password step, for the same person, with the reason.
  await expect(plain.getByRole('heading', { name: 'Enter password' })).toBeVisible();
  await expect(plain.getByText(ADMIN.username)).toBeVisible();
  await expect(plain.getByText('Your account or password is incorrect.')).toBeVisible();
  // The error came back in the URL, signed by the server; one written by anybody else is dropped.
  expect(plain.url()).toContain('__sig=');
  const forged = Buffer.from(JSON.stringify({ Forbidden: 'Call 555-0100 to unlock your account.' })).toString('base64url');
  await plain.goto(server.baseURL + `/signin?username=x&__path=%2Fapi%2Fsign_in&__err=${forged}`);
  await expect(plain).toHaveURL(server.baseURL + '/signin?username=x');
  await expect(plain.getByText('Call 555-0100')).toHaveCount(0);
  await expect(plain.getByRole('alert').filter({ hasText: /\S/ })).toHaveCount(0);

  await plain.goto(server.baseURL + '/signin?username=' + encodeURIComponent(ADMIN.username) + '&next=/security-info');
  await plain.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await plain.getByRole('button', { name: 'Sign in' }).click();
  await expect(plain.getByRole('heading', { name: 'Enter code' })).toBeVisible();
  await plain.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now() / 1000 - 3600));
  await plain.getByRole('button', { name: 'Verify' }).click();
  await expect(plain.getByText("That code didn't work.")).toBeVisible();
  await plain.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now() / 1000 + 30));
  await plain.getByRole('button', { name: 'Verify' }).click();
  await expect(plain).toHaveURL(server.baseURL + '/security-info');
  await plain.context().close();
});

test('recent activity lists sign-ins and changes newest first, a page at a time, with and without the WebAssembly', async ({ page, server, browser }) => {
  await completeSetup(page, server, { allowAppPasswords: true });
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  await addAuthenticator(page, server);
  await page.goto(server.baseURL + '/');
  await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Recent activity' }).click();
  await expect(page).toHaveURL(server.baseURL + '/activity');
  await expect(page).toHaveTitle('Recent activity - Latchkey');
  const list = page.getByRole('list', { name: 'Your recent activity' });
  const rows = list.getByRole('listitem');
  await expect(rows.first()).toContainText('Authenticator app added');
  await expect(rows.nth(1)).toContainText('Signed in');
  await expect(rows.nth(1)).toContainText('Password');
  await expect(rows.nth(1)).toContainText(/127\.0\.0\.1 · Chrome on \w/);
  await expect(list).not.toContainText('setup');

  // Twenty-five failed sign-ins since: the page shows the newest twenty, the rest one link away.
  const user = "(SELECT id FROM users WHERE username_key = 'ada@contoso.example')";
  sql(
    server.databaseUrl,
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
     INSERT INTO audit_events (user_id, kind, detail, ip, user_agent, created_at)
     SELECT ${user}, 'sign_in.failed', 'wrong password', '198.51.100.' || i, 'IMAP',
            strftime('%Y-%m-%d %H:%M:%f+00:00', 'now') FROM n`,
  );
  await page.reload();
  await expect(rows).toHaveCount(20);
  await expect(rows.first()).toContainText('Sign-in failed');
  await expect(rows.first()).toContainText('198.51.100.25 · IMAP');
  await page.getByRole('link', { name: 'Older' }).click();
  await expect(page).toHaveURL(/\/activity\?before=\d+$/);
  await expect(rows).toHaveCount(7);
  await expect(rows.nth(4)).toContainText('198.51.100.1 · IMAP');
  await expect(rows.last()).toContainText('Signed in');
  await expect(page.getByRole('link', { name: 'Older' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Newest' }).click();
  await expect(rows.first()).toContainText('198.51.100.25 · IMAP');

  const plain = await pageWithoutScripts(browser, server, '/activity', page);
  await expect(plain.getByRole('list', { name: 'Your recent activity' }).getByRole('listitem')).toHaveCount(20);
  await plain.getByRole('link', { name: 'Older' }).click();
  await expect(plain.getByRole('list', { name: 'Your recent activity' }).getByRole('listitem')).toHaveCount(7);
  await plain.context().close();
});

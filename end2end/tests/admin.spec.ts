// The admin console: administrators change the organization's settings in the browser (with
// and without the WebAssembly); everyone else is neither shown the console nor let in.
import { test, expect, completeSetup, signIn, hydrated, addPerson, latchkeyAdmin, pageWithoutScripts } from './fixtures';

test('an administrator turns a setting on and off; a person is refused the console', async ({ page, server, browser }) => {
  await completeSetup(page, server, { allowAppPasswords: true });
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
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
  await expect(person.getByText('Your organization requires two-step verification.')).toBeVisible();
  await expect(person.getByRole('dialog', { name: 'Authenticator app' })).toBeVisible();
  await expect(person.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Security info' })).toBeVisible();
  await expect(person.getByRole('link', { name: 'Administration' })).toHaveCount(0);
  await person.goto(server.baseURL + '/admin');
  await expect(person.getByRole('alert')).toContainText('Only administrators can do this.');
  await expect(person.getByRole('list', { name: 'Organization settings' })).toHaveCount(0);
  await other.close();
});

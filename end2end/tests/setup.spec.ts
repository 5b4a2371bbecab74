import { test, expect, completeSetup, untilItResponds } from './fixtures';

test('the setup page is a 404 without its token', async ({ page, server }) => {
  for (const url of ['/setup', '/setup?token=not-the-token']) {
    const response = await page.goto(server.baseURL + url);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: "We can't find that page" })).toBeVisible();
    await expect(page).toHaveTitle('Page not found - Latchkey');
  }
});

test('first-time setup hydrates, explains bad input, creates the organization once', async ({ page, server }) => {
  const response = await page.goto(server.setupUrl);
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle('Set up Latchkey - Latchkey');

  // The live password hint only reacts once the WebAssembly has hydrated the page.
  const password = page.getByLabel('Password', { exact: true });
  const hint = page.locator('#password-hint');
  await untilItResponds(async () => {
    await password.fill('');
    await password.pressSequentially('short');
    await expect(hint).toHaveText('5 of at least 12 characters', { timeout: 500 });
  });

  await page.getByLabel('Organization name').fill('Contoso');
  await page.getByLabel('Your name').fill('Ada Lovelace');
  await page.getByLabel('Sign-in name').fill('ada@contoso.example');
  await page.getByLabel('Confirm password').fill('short');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByText('Use at least 12 characters (this one has 5).')).toBeVisible();
  // Nothing typed is lost.
  await expect(page.getByLabel('Organization name')).toHaveValue('Contoso');

  await password.fill('correct horse battery');
  await page.getByLabel('Confirm password').fill('correct horse batterx');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByText("The two passwords don't match.")).toBeVisible();

  await page.getByLabel('Confirm password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page).toHaveURL(/\/signin\?setup=done$/);
  await expect(page.getByRole('status')).toContainText('Latchkey is set up');

  // The link is dead now.
  const again = await page.goto(server.setupUrl);
  expect(again?.status()).toBe(404);
});

test('setup works before the WebAssembly loads', async ({ browser, server }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await completeSetup(page, server);
  await context.close();
});

test('completeSetup helper leaves a working sign-in page', async ({ page, server }) => {
  await completeSetup(page, server, { allowAppPasswords: true });
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});

// Signed-in browsers on Security info ("Lost device?"): two browsers (contexts) signed in as the
// same person each see both, their own marked "This browser"; one signs the other out from its
// list, which then no longer shows it, and the other is sent to sign-in at its next navigation;
// a browser's own row signs out as Sign out does. Then the same forms without the WebAssembly.
import AxeBuilder from '@axe-core/playwright';
import { test, expect, completeSetup, signIn, hydrated, pageWithoutScripts, type LatchkeyServer } from './fixtures';
import type { Browser, BrowserContext, Page } from '@playwright/test';

/** The other browser: Firefox on Windows, whatever the project's own browser is. */
const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

/** axe-core finds nothing on the page as it is now. */
async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

function browsersList(page: Page) {
  return page.getByRole('list', { name: 'Your signed-in browsers' });
}

/** The row of this browser, and the row of the other (Firefox on Windows). */
function rows(page: Page) {
  const items = browsersList(page).getByRole('listitem');
  return {
    all: items,
    mine: items.filter({ hasText: 'This browser' }),
    firefox: items.filter({ hasText: 'Firefox on Windows' }),
  };
}

/** A second browser, Firefox on Windows, signed in as the administrator, at My Profile. */
async function otherBrowser(browser: Browser, server: LatchkeyServer): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ userAgent: FIREFOX_ON_WINDOWS });
  const page = await context.newPage();
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  return { context, page };
}

test('one browser signs another out from its list; the other is sent to sign-in at its next step', async ({ page, server, browser }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  const other = await otherBrowser(browser, server);
  try {
    // The other browser sees itself, marked, by its browser and system.
    await other.page.goto(server.baseURL + '/security-info');
    await expect(rows(other.page).mine).toContainText('Firefox on Windows');
    await hydrated(other.page);

    // This browser sees both: itself marked and first, the other with its address.
    await page.goto(server.baseURL + '/security-info');
    await hydrated(page);
    const here = rows(page);
    await expect(here.all).toHaveCount(2);
    await expect(here.all.first()).toContainText('This browser');
    await expect(here.mine).toHaveCount(1);
    await expect(here.mine).toContainText('Active just now');
    await expect(here.firefox).not.toContainText('This browser');
    await expect(here.firefox).toContainText('127.0.0.1');
    await noViolations(page, 'Security info with signed-in browsers');

    // Sign the other out: one call; the list, fetched again, is without it; this browser stays.
    const signOut = page.waitForResponse((r) => r.url().endsWith('/api/sign_out_browser'));
    await here.firefox.getByRole('button', { name: 'Sign out Firefox on Windows, 127.0.0.1' }).click();
    expect((await signOut).status()).toBe(200);
    await expect(here.firefox).toHaveCount(0);
    await expect(here.all).toHaveCount(1);
    await expect(page).toHaveURL(server.baseURL + '/security-info');

    // The other browser, at its next step (a client-side navigation), goes to sign-in.
    await other.page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Recent activity' }).click();
    await expect(other.page).toHaveURL(/\/signin\?next=/);
    // And a page load too.
    await other.page.goto(server.baseURL + '/security-info');
    await expect(other.page).toHaveURL(/\/signin\?next=/);

    // Recent activity says which browser was signed out.
    await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Recent activity' }).click();
    const signedOut = page.getByRole('listitem').filter({ hasText: 'Signed out a browser' });
    await expect(signedOut).toContainText('Firefox on Windows, 127.0.0.1');

    // This browser's own row signs out, as Sign out does.
    await page.goto(server.baseURL + '/security-info');
    await hydrated(page);
    await rows(page).mine.getByRole('button', { name: /^Sign out / }).click();
    await expect(page).toHaveURL(/\/signin\?signed_out=1$/);
    await page.goto(server.baseURL + '/security-info');
    await expect(page).toHaveURL(/\/signin\?next=/);
  } finally {
    await other.context.close();
  }
});

test('without the WebAssembly, a row\'s form signs that browser out and the page comes back', async ({ page, server, browser }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  const other = await otherBrowser(browser, server);
  // Signed in as `page` is (its cookies), without JavaScript: the same session, "This browser".
  const plain = await pageWithoutScripts(browser, server, '/security-info', page);
  try {
    const list = rows(plain);
    await expect(list.all).toHaveCount(2);
    await expect(list.mine).toHaveCount(1);

    await list.firefox.getByRole('button', { name: 'Sign out Firefox on Windows, 127.0.0.1' }).click();
    await expect(plain).toHaveURL(server.baseURL + '/security-info');
    await expect(list.firefox).toHaveCount(0);
    await expect(list.all).toHaveCount(1);
    await other.page.goto(server.baseURL + '/security-info');
    await expect(other.page).toHaveURL(/\/signin\?next=/);

    // Its own row: signed out, on to the sign-in page, and the session is over for `page` too.
    await list.mine.getByRole('button', { name: /^Sign out / }).click();
    await expect(plain).toHaveURL(/\/signin\?signed_out=1$/);
    await page.goto(server.baseURL + '/security-info');
    await expect(page).toHaveURL(/\/signin\?next=/);
  } finally {
    await plain.context().close();
    await other.context.close();
  }
});

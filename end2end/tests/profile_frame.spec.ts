// My Profile's frame (top bar with the signed-in person, navigation, the page's title) is the
// parent route of every signed-in page: moving between them keeps it, so the signed-in person
// is read once, when the first page is rendered, and not again on each page. Each page still
// arrives complete from the server, title and content, lazy pages included.
import { test, expect, hydrated, readyUser, pageWithoutScripts } from './fixtures';

const PAGES = [
  { path: '/security-info', link: 'Security info', heading: 'Security info', title: 'Security info - Latchkey' },
  { path: '/activity', link: 'Recent activity', heading: 'Recent activity', title: 'Recent activity - Latchkey' },
  { path: '/admin', link: 'Administration', heading: 'Administration', title: 'Administration - Latchkey' },
  { path: '/', link: 'Overview', heading: 'Overview', title: 'My Profile - Latchkey' },
];

test('moving between the signed-in pages keeps the frame and reads the signed-in person no more', async ({ page, server, browser }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/');
  await hydrated(page);
  const seen: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/api/') || request.resourceType() === 'document') seen.push(path);
  });
  const user = page.locator('.topbar-user');
  await expect(user).toHaveText('Ada Lovelace');
  // The frame's elements stay the same nodes from page to page.
  await user.evaluate((element) => element.setAttribute('data-kept', ''));
  const nav = page.getByRole('navigation', { name: 'My Profile' });
  for (const { link, heading, title } of PAGES) {
    await nav.getByRole('link', { name: link }).click();
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeFocused();
    await expect(page).toHaveTitle(title);
    await expect(page.locator('.topbar-user[data-kept]')).toHaveText('Ada Lovelace');
  }
  console.log(`calls while moving between ${PAGES.length} pages: ${seen.join(', ')}`);
  expect(seen.filter((path) => path === '/api/current_user'), 'the signed-in person is not read again').toEqual([]);
  expect(seen.filter((path) => !path.startsWith('/api/')), 'no page was loaded').toEqual([]);
  // The pages read their own lists.
  expect(seen).toContain('/api/security_info');
  expect(seen).toContain('/api/recent_activity');

  // Without the WebAssembly each page is complete as the server sends it.
  for (const { path, heading, title } of PAGES) {
    const plain = await pageWithoutScripts(browser, server, path, page);
    await expect(plain).toHaveTitle(title);
    await expect(plain.getByRole('heading', { name: heading, level: 1 })).toBeVisible();
    await expect(plain.locator('.topbar-user')).toHaveText('Ada Lovelace');
    await plain.context().close();
  }
});

import { test, expect, completeSetup, hydrated, signIn, startServer } from './fixtures';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

test('My Profile links to Security info, which shows the preview notice', async ({ page, server }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  await expect(page).toHaveTitle('My Profile - Latchkey');
  await expect(page.getByRole('region', { name: 'Your account' })).toContainText('Contoso');
  await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Security info' }).click();
  await expect(page).toHaveURL(/\/security-info$/);
  await expect(page).toHaveTitle('Security info - Latchkey');
  await expect(page.getByRole('heading', { name: 'Security info', level: 1 })).toBeVisible();
  const notice = page.getByRole('region', { name: 'Preview notice' });
  await expect(notice).toBeVisible();
  await page.getByRole('button', { name: 'Dismiss notice' }).click();
  await expect(notice).toBeHidden();

  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('link', { name: /Update info/ }).click();
  await expect(page).toHaveURL(/\/security-info$/);
  // Dismissed for this person, not for this visit: it stays away after a reload too.
  await expect(page.getByRole('heading', { name: 'Security info', level: 1 })).toBeVisible();
  await expect(notice).toBeHidden();
  await page.reload();
  await expect(page.getByText('Default sign-in method')).toBeVisible();
  await expect(notice).toBeHidden();
});

test('a dismiss of the preview notice that does not reach the server says so, and the notice stays', async ({ page, server, consoleProblems }) => {
  await completeSetup(page, server);
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await hydrated(page);
  const notice = page.getByRole('region', { name: 'Preview notice' });
  await page.route('**/api/dismiss_preview_notice*', (route) => route.abort());
  await notice.getByRole('button', { name: 'Dismiss notice' }).click();
  await expect(notice.getByRole('alert')).toContainText("The notice was not dismissed. Couldn't reach Latchkey");
  await page.unroute('**/api/dismiss_preview_notice*');
  await notice.getByRole('button', { name: 'Dismiss notice' }).click();
  await expect(notice).toBeHidden();
  await page.reload();
  await expect(page.getByText('Default sign-in method')).toBeVisible();
  await expect(notice).toBeHidden();
  // The browser reports the request this test cut off; nothing else may be reported.
  const cutOff = (problem: string) => problem.includes('net::ERR_FAILED');
  expect(consoleProblems.filter(cutOff)).toHaveLength(1);
  consoleProblems.splice(0, consoleProblems.length, ...consoleProblems.filter((problem) => !cutOff(problem)));
});

test('unknown pages are a 404 with a way back', async ({ page, server }) => {
  const response = await page.goto(server.baseURL + '/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page).toHaveTitle('Page not found - Latchkey');
  await page.getByRole('link', { name: 'Go to My Profile' }).click();
  await expect(page).toHaveURL(/\/signin\?next=/);
});

test('pages fit a 320 px phone without sideways scrolling', async ({ page, server }) => {
  await completeSetup(page, server);
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  await page.setViewportSize({ width: 320, height: 640 });
  for (const url of ['/', '/security-info', '/signin', '/no-such-page']) {
    await page.goto(server.baseURL + url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, url).toBeLessThanOrEqual(0);
  }
});

test('keyboard focus is visible', async ({ page, server }) => {
  await page.goto(server.baseURL + '/signin');
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => {
    const active = document.activeElement as HTMLElement | null;
    return active && active !== document.body ? getComputedStyle(active).outlineStyle : 'none';
  });
  expect(outline).not.toBe('none');
});

test('links and forms swap the page in place; Back and Forward work through dialogs', async ({ page, server }) => {
  await completeSetup(page, server);
  await signIn(page, server, { path: '/signin?next=/security-info' });
  await expect(page).toHaveURL(server.baseURL + '/security-info');
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
  const marker = () => page.evaluate(() => (window as unknown as { marker?: number }).marker);

  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await expect(chooser).toBeVisible();
  await expect(page).toHaveURL(/\?add=method$/);
  await page.goBack();
  await expect(page).toHaveURL(server.baseURL + '/security-info');
  await expect(chooser).toBeHidden();
  await page.goForward();
  await expect(chooser).toBeVisible();
  // Esc closes it and leads to the page without it; focus returns to what opened it.
  await page.keyboard.press('Escape');
  await expect(chooser).toBeHidden();
  await expect(page).toHaveURL(server.baseURL + '/security-info');
  await expect(page.getByRole('button', { name: 'Add method' })).toBeFocused();
  await page.getByRole('link', { name: 'Overview' }).click();
  await expect(page).toHaveTitle('My Profile - Latchkey');
  expect(await marker()).toBe(7); // never reloaded
});

test('the binary alone serves its built-in assets: precompressed, cached for good, revalidated by ETag', async ({ page, server, request }) => {
  // The fixture runs a copy of the release binary from an empty folder (no site files).
  await page.goto(server.baseURL + '/signin');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  const script = await page.locator('script[type="module"]').first().textContent();
  const js = script?.match(/"(\/pkg\/[^"]+\.js)"/)?.[1];
  const wasm = script?.match(/"(\/pkg\/[^"]+\.wasm)"/)?.[1];
  const css = await page.locator('link[rel="stylesheet"]').getAttribute('href');
  for (const asset of [js, wasm, css]) {
    expect(asset, 'hashed asset names in the page').toMatch(/^\/pkg\/latchkey\.[^.]+\.(js|wasm|css)$/);
  }
  for (const [asset, type] of [[js, 'text/javascript'], [wasm, 'application/wasm'], [css, 'text/css']]) {
    const answer = await request.get(server.baseURL + asset, { headers: { 'Accept-Encoding': 'br' } });
    expect(answer.status(), `${asset}`).toBe(200);
    expect(answer.headers()['content-encoding']).toBe('br');
    expect(answer.headers()['content-type']).toContain(type);
    expect(answer.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    const etag = answer.headers()['etag'];
    expect(etag).toBeTruthy();
    const again = await request.get(server.baseURL + asset, { headers: { 'Accept-Encoding': 'br', 'If-None-Match': etag } });
    expect(again.status()).toBe(304);
    // A client that takes no compression gets the plain file.
    const plain = await request.get(server.baseURL + asset, { headers: { 'Accept-Encoding': 'identity' } });
    expect(plain.status()).toBe(200);
    expect(plain.headers()['content-encoding']).toBeUndefined();
  }
  const favicon = await request.get(server.baseURL + '/favicon.svg');
  expect(favicon.status()).toBe(200);
  expect(favicon.headers()['content-type']).toContain('image/svg+xml');
  expect((await request.get(server.baseURL + '/pkg/nothing-here.js')).status()).toBe(404);
});

test('--site-dir serves the files of a folder instead of the built-in ones', async ({ request }) => {
  test.skip(test.info().project.name !== 'desktop', 'no page involved: once is enough');
  const folder = mkdtempSync(path.join(tmpdir(), 'latchkey-site-'));
  cpSync(path.join(__dirname, '..', '..', 'target', 'site'), folder, { recursive: true });
  writeFileSync(path.join(folder, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"><!-- ours --></svg>');
  rmSync(path.join(folder, 'favicon.svg.br'), { force: true });
  rmSync(path.join(folder, 'favicon.svg.gz'), { force: true });
  const { server, stop } = await startServer({ LATCHKEY_SITE_DIR: folder });
  try {
    const favicon = await request.get(server.baseURL + '/favicon.svg', { headers: { 'Accept-Encoding': 'identity' } });
    expect(favicon.status()).toBe(200);
    expect(await favicon.text()).toContain('<!-- ours -->');
  } finally {
    await stop();
    rmSync(folder, { recursive: true, force: true });
  }
});

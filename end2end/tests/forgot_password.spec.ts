// "Forgot password?" by mail (issue 30 item 5) against the real release binary, with the
// test's own SMTP server: offered only once the organization turns it on; the link arrives by
// mail, sets the password once, and the next sign-in still asks for the code. With and without
// the WebAssembly, and axe on the new step. Also the console's "reset password and methods".
import AxeBuilder from '@axe-core/playwright';
import { createServer } from 'node:net';
import type { Page } from '@playwright/test';
import {
  test, expect, startServer, completeSetup, signIn, addAuthenticator, latchkeyAdmin, ADMIN,
  pageWithoutScripts, hydrated, totp, addPerson, untilItResponds,
} from './fixtures';

interface Mail { to: string; text: string }

/** An SMTP server on a free loopback port that accepts every mail and keeps it. */
async function startMailSink(): Promise<{ port: number; mails: Mail[]; close: () => void }> {
  const mails: Mail[] = [];
  const sink = createServer((socket) => {
    let buffer = '';
    let inData = false;
    let to = '';
    let data: string[] = [];
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            // Quoted-printable undone, as a mail client does.
            const text = data.join('\n').replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
            mails.push({ to, text });
            data = [];
            socket.write('250 kept\r\n');
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const command = line.toUpperCase();
        if (command.startsWith('EHLO')) socket.write('250-sink\r\n250 OK\r\n');
        else if (command.startsWith('RCPT TO:')) {
          to = line.slice('RCPT TO:'.length).replace(/[<>\s]/g, '');
          socket.write('250 OK\r\n');
        } else if (command === 'DATA') {
          inData = true;
          socket.write('354 go on\r\n');
        } else if (command === 'QUIT') {
          socket.end('221 bye\r\n');
        } else socket.write('250 OK\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const address = sink.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, mails, close: () => sink.close() };
}

async function noViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(found, what).toEqual([]);
}

/** The mailed link's path and query, once a mail to `to` with `subject` has arrived. */
async function mailedLink(mails: Mail[], to: string, subject: string): Promise<string> {
  let mail: Mail | undefined;
  await expect.poll(() => {
    mail = mails.find((m) => m.to === to && m.text.includes(`Subject: ${subject}`));
    return mail !== undefined;
  }, { timeout: 20_000, message: `a mail "${subject}" to ${to}` }).toBe(true);
  const link = mail?.text.match(/https?:\/\/\S+\/set-password\?token=[0-9a-f]{64}/)?.[0] ?? '';
  expect(link, mail?.text).not.toBe('');
  return new URL(link).pathname + new URL(link).search;
}

test('forgot password through the test\'s SMTP server, with the WebAssembly and without', async ({ page, browser }) => {
  test.setTimeout(120_000);
  const sink = await startMailSink();
  const { server, stop } = await startServer({
    LATCHKEY_SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
    LATCHKEY_MAIL_FROM: 'Latchkey <security@contoso.example>',
  });
  try {
    await completeSetup(page, server);
    await signIn(page, server);
    await expect(page).toHaveURL(server.baseURL + '/');
    const secret = await addAuthenticator(page, server);
    await page.context().clearCookies();

    // Off by default: the password step offers nothing.
    await page.goto(server.baseURL + '/signin?username=ada%40contoso.example');
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Enter password' })).toBeVisible();
    await expect(page.getByRole('link', { name: 'Forgot password?' })).toHaveCount(0);

    expect(latchkeyAdmin(server, 'org', 'set', 'reset-password-by-mail', 'on')).toContain('reset-password-by-mail:      on');
    await page.goto(server.baseURL + '/signin?username=ada%40contoso.example');
    await hydrated(page);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await expect(page.getByRole('heading', { name: 'Forgot password?' })).toBeVisible();
    await expect(page.getByLabel('Sign-in name')).toHaveValue(ADMIN.username);
    await noViolations(page, 'forgot password');
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await expect(page).toHaveURL(/\/signin\?password=mailed$/);
    await expect(page.getByText('a link to set a new password is on its way')).toBeVisible();
    await noViolations(page, 'link mailed');

    // The mail's link sets the password; then sign-in still asks for the code.
    const link = await mailedLink(sink.mails, ADMIN.username, 'Set a new password');
    await page.goto(server.baseURL + link);
    await hydrated(page);
    await expect(page.getByText('Choose a new password.')).toBeVisible();
    await noViolations(page, 'set password from a mailed link');
    const fresh = 'copper lantern orchard';
    await page.getByLabel('New password', { exact: true }).fill(fresh);
    await page.getByLabel('Confirm new password').fill(fresh);
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect(page).toHaveURL(/\/signin\?password=set&username=ada%40contoso\.example$/);
    await page.getByLabel('Password', { exact: true }).fill(fresh);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { name: 'Enter code' })).toBeVisible();
    await page.getByLabel('Code', { exact: true }).fill(totp(secret, Date.now() / 1000 + 30));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect(page).toHaveURL(server.baseURL + '/');
    // Told by mail that it was used; the link works once.
    await expect.poll(() => sink.mails.some((m) => m.to === ADMIN.username && m.text.includes('Subject: Your password was reset')), { timeout: 20_000 }).toBe(true);
    await page.goto(server.baseURL + link);
    await expect(page.getByRole('heading', { name: "This link doesn't work" })).toBeVisible();

    // Without the WebAssembly: another person, the same steps as plain forms.
    addPerson(server, 'grace@contoso.example', 'plum tractor sideways');
    const plain = await pageWithoutScripts(browser, server, '/signin?username=grace%40contoso.example');
    await plain.getByRole('link', { name: 'Forgot password?' }).click();
    await expect(plain.getByRole('heading', { name: 'Forgot password?' })).toBeVisible();
    await plain.getByRole('button', { name: 'Email me a link' }).click();
    await expect(plain).toHaveURL(/\/signin\?password=mailed$/);
    await expect(plain.getByText('a link to set a new password is on its way')).toBeVisible();
    const graces = await mailedLink(sink.mails, 'grace@contoso.example', 'Set a new password');
    await plain.goto(server.baseURL + graces);
    await plain.getByLabel('New password', { exact: true }).fill(fresh);
    await plain.getByLabel('Confirm new password').fill(fresh);
    await plain.getByRole('button', { name: 'Set password' }).click();
    await expect(plain).toHaveURL(/\/signin\?password=set&username=grace%40contoso\.example$/);
    await expect(plain.getByText('Your password is set. Sign in with it.')).toBeVisible();
    await plain.context().close();

    // A name nobody has gets the same answer, and no mail (once Grace's alert is in).
    await expect.poll(() => sink.mails.some((m) => m.to === 'grace@contoso.example' && m.text.includes('Subject: Your password was reset')), { timeout: 20_000 }).toBe(true);
    const before = sink.mails.length;
    await page.context().clearCookies();
    await page.goto(server.baseURL + '/signin?step=forgot');
    await hydrated(page);
    await page.getByLabel('Sign-in name').fill('nobody@contoso.example');
    await untilItResponds(async () => {
      await page.getByRole('button', { name: 'Email me a link' }).click();
      await expect(page).toHaveURL(/\/signin\?password=mailed$/, { timeout: 2_000 });
    });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(sink.mails.length).toBe(before);
  } finally {
    await stop();
    sink.close();
  }
});

test('an administrator resets a person\'s password and methods in one go (without the WebAssembly)', async ({ page, browser, server }) => {
  await completeSetup(page, server);
  addPerson(server, 'grace@contoso.example', 'plum tractor sideways');
  // Grace adds an authenticator app.
  await signIn(page, server, { username: 'grace@contoso.example', password: 'plum tractor sideways' });
  await expect(page).toHaveURL(server.baseURL + '/');
  await addAuthenticator(page, server);
  await page.context().clearCookies();

  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  // The question, hydrated, with its new choice: axe.
  await page.goto(server.baseURL + '/admin?q=grace');
  await hydrated(page);
  await page.getByRole('link', { name: 'Reset password of grace@contoso.example' }).click();
  await expect(page.getByRole('dialog', { name: 'Reset password' }).getByLabel(/Also reset their sign-in methods/)).toBeVisible();
  await noViolations(page, 'reset password and methods');
  const plain = await pageWithoutScripts(browser, server, '/admin?q=grace', page);
  const row = plain.getByRole('list', { name: 'People' }).getByRole('listitem').first();
  await expect(row).toContainText('Two-step verification');
  await row.getByRole('link', { name: 'Reset password of grace@contoso.example' }).click();
  const dialog = plain.getByRole('dialog', { name: 'Reset password' });
  await expect(dialog).toContainText('Reset the password of Grace Hopper (grace@contoso.example)?');
  await dialog.getByLabel(/Also reset their sign-in methods/).check();
  await dialog.getByRole('button', { name: 'Reset password' }).click();
  await plain.waitForLoadState('load');
  const shown = plain.getByRole('dialog', { name: 'Reset password' });
  await expect(shown.getByText('their sign-in methods were reset')).toBeVisible();
  const link = await shown.getByLabel('One-time link').inputValue();
  await plain.context().close();
  expect(link).toMatch(/\/set-password\?token=[0-9a-f]{64}$/);
  const audit = latchkeyAdmin(server, 'audit', '--user', 'grace@contoso.example');
  expect(audit).toContain('methods.reset');
  expect(audit).toContain('password.reset');

  // Grace chooses a password and is signed in without a code: her methods are gone.
  await page.context().clearCookies();
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill('copper lantern orchard');
  await page.getByLabel('Confirm new password').fill('copper lantern orchard');
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page).toHaveURL(/password=set/);
  await page.getByLabel('Password', { exact: true }).fill('copper lantern orchard');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(server.baseURL + '/');
});

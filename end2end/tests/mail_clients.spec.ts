// Non-browser apps signing in with app passwords made through the web flow, through real
// peers: Debian's Dovecot (IMAP, `latchkey checkpassword`) with curl as the IMAP client, and
// Debian's nginx (`auth_request` to /auth/basic) with curl as the HTTP client.
import {
  test, expect, completeSetup, signIn, addAuthenticator, freePort, needs, waitForPort, startServer, ADMIN,
  startNginx, startDovecot, startPostfix, imapLogin, type LatchkeyServer,
} from './fixtures';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';

/** Signs Ada in with an authenticator app and creates an app password named `name` through
 *  Security info; leaves the dialog open at the password step and returns the password. */
async function createAppPassword(page: Page, server: LatchkeyServer, name: string): Promise<string> {
  await completeSetup(page, server, { allowAppPasswords: true });
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  await addAuthenticator(page, server);
  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('app_password');
  await chooser.getByRole('button', { name: 'Add' }).click();
  const dialog = page.getByRole('dialog', { name: 'App password' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Next' }).click();
  return dialog.getByLabel('Password', { exact: true }).inputValue();
}

async function deleteAppPassword(page: Page, name: string) {
  const list = page.getByRole('list', { name: 'Your app passwords' });
  await list.getByRole('button', { name: `Delete app password ${name}` }).click();
  await page.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
  await expect(list.getByText(name)).toBeHidden();
}

/** The README's main.cf lines for SMTP AUTH through Dovecot's SASL service on `authPort`;
 *  mail from loopback (Latchkey's alerts) is accepted without AUTH. */
function saslThroughDovecot(authPort: number): string {
  return `mynetworks = 127.0.0.0/8
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:${authPort}
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination`;
}

/** curl's IMAP client: lists the mailboxes after LOGIN. Returns curl's exit code (67: login denied). */
test('an IMAP client signs in through Dovecot with an app password, and only with one', async ({ page, server }) => {
  needs('/usr/sbin/dovecot');
  const password = await createAppPassword(page, server, 'Thunderbird');
  const dialog = page.getByRole('dialog', { name: 'App password' });
  await expect(dialog.getByText('Waiting for the first sign-in...')).toBeVisible();

  const port = await freePort();
  const { dovecot, log, stop } = startDovecot(server, { imapPort: port });
  try {
    await waitForPort(port, dovecot, log);
    expect(imapLogin(port, ADMIN.username, password), log()).toBe(0);
    // The open dialog learns that the app works.
    await expect(dialog.getByText('Signed in from IMAP just now')).toBeVisible({ timeout: 10_000 });
    // Spaces and case do not matter, as people retype them.
    expect(imapLogin(port, ADMIN.username, password.replace(/ /g, '').toUpperCase())).toBe(0);
    // The account password, a wrong app password: refused.
    expect(imapLogin(port, ADMIN.username, ADMIN.password)).toBe(67);
    expect(imapLogin(port, ADMIN.username, 'abcd efgh ijkl mnop')).toBe(67);
    await dialog.getByRole('link', { name: 'Done' }).click();
    await expect(page.getByRole('list', { name: 'Your app passwords' }).getByText(/Last used: (IMAP, )?just now from 127\.0\.0\.1/)).toBeVisible();
    // Deleted on the web page: refused at the next login.
    await deleteAppPassword(page, 'Thunderbird');
    expect(imapLogin(port, ADMIN.username, password)).toBe(67);
  } finally {
    await stop();
  }
});

/** swaks sending one message through Postfix with SMTP AUTH; returns its exit code and transcript. */
function smtpSend(port: number, user: string, password: string, to: string, subject: string) {
  const result = spawnSync('swaks', [
    '--server', `127.0.0.1:${port}`, '--from', user, '--to', to, '--header', `Subject: ${subject}`,
    '--auth', 'PLAIN', '--auth-user', user, '--auth-password', password, '--timeout', '20',
  ], { encoding: 'utf8' });
  return { code: result.status ?? -1, transcript: result.stdout + result.stderr };
}

test('an SMTP client sends through Postfix with an app password (SASL through Dovecot), and only with one', async ({ page, server }) => {
  needs('/usr/sbin/postfix');
  needs('/usr/sbin/dovecot');
  needs('/usr/bin/swaks');
  const password = await createAppPassword(page, server, 'Outlook SMTP');
  await page.getByRole('dialog', { name: 'App password' }).getByRole('link', { name: 'Done' }).click();
  const [imapPort, authPort, lmtpPort, smtpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dovecot = startDovecot(server, { imapPort, authPort, lmtpPort });
  const postfix = startPostfix({ smtpPort, lmtpPort }, saslThroughDovecot(authPort));
  try {
    await waitForPort(authPort, dovecot.dovecot, dovecot.log);
    await waitForPort(smtpPort, postfix.postfix, postfix.log);
    const sent = smtpSend(smtpPort, ADMIN.username, password, 'grace@contoso.example', 'Sent with an app password');
    expect(sent.code, `${sent.transcript}\n${postfix.log()}\n${dovecot.log()}`).toBe(0);
    expect(sent.transcript).toMatch(/<-\s+235 /);
    // Delivered: Postfix hands it to Dovecot over LMTP, and it lands in Grace's mailbox.
    const inbox = path.join(dovecot.mail, 'grace@contoso.example', 'new');
    await expect
      .poll(() => (existsSync(inbox) ? readdirSync(inbox).length : 0), { timeout: 20_000, message: 'delivered' })
      .toBe(1)
      .catch((error) => { throw new Error(`${error}\n${postfix.log()}\n${dovecot.log()}`); });
    expect(readFileSync(path.join(inbox, readdirSync(inbox)[0]), 'utf8')).toContain('Subject: Sent with an app password');

    await page.reload();
    await expect(page.getByRole('list', { name: 'Your app passwords' }).getByText(/Last used: SMTP, just now from 127\.0\.0\.1/)).toBeVisible();
    // The account password is refused; so is the app password once deleted.
    const withAccountPassword = smtpSend(smtpPort, ADMIN.username, ADMIN.password, 'grace@contoso.example', 'no');
    expect(withAccountPassword.code).not.toBe(0);
    expect(withAccountPassword.transcript).toMatch(/<\*\*\s+535 /);
    await deleteAppPassword(page, 'Outlook SMTP');
    const afterDelete = smtpSend(smtpPort, ADMIN.username, password, 'grace@contoso.example', 'no');
    expect(afterDelete.code).not.toBe(0);
    expect(afterDelete.transcript).toMatch(/<\*\*\s+535 /);
  } finally {
    await postfix.stop();
    await dovecot.stop();
  }
});

/** Every message in INBOX, read over IMAP with curl (one FETCH per message, until none). */
function imapMessages(port: number, user: string, password: string): string[] {
  const messages: string[] = [];
  for (let index = 1; index <= 20; index++) {
    const result = spawnSync('curl', [
      '-s', '--max-time', '20', `imap://127.0.0.1:${port}/INBOX;MAILINDEX=${index}`, '--user', `${user}:${password}`,
    ], { encoding: 'utf8' });
    if (result.status !== 0 || !result.stdout) break;
    messages.push(result.stdout);
  }
  return messages;
}

test('mail alerts reach the person through Postfix and Dovecot: new app password, new address, factor change', async ({ page }) => {
  needs('/usr/sbin/postfix');
  needs('/usr/sbin/dovecot');
  const [imapPort, authPort, lmtpPort, smtpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const { server, stop } = await startServer({
    LATCHKEY_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    LATCHKEY_MAIL_FROM: 'Latchkey <security@contoso.example>',
  });
  const dovecot = startDovecot(server, { imapPort, authPort, lmtpPort });
  const postfix = startPostfix({ smtpPort, lmtpPort }, saslThroughDovecot(authPort));
  try {
    await waitForPort(lmtpPort, dovecot.dovecot, dovecot.log);
    await waitForPort(smtpPort, postfix.postfix, postfix.log);
    // Adds the authenticator app, then creates the app password.
    const password = await createAppPassword(page, server, 'Thunderbird');
    // Its first use from an address (a client's, as Dovecot or nginx passes it on): a third
    // alert. Reading the mailbox below, from this machine, is not one.
    const firstUse = spawnSync('curl', [
      '-s', '-o', '/dev/null', '-w', '%{http_code}', '--user', `${ADMIN.username}:${password}`,
      '-H', 'X-Forwarded-For: 192.0.2.7', '-H', 'X-Latchkey-Protocol: imap', `${server.baseURL}/auth/basic`,
    ], { encoding: 'utf8' });
    expect(firstUse.stdout).toBe('204');
    const expected = ['Authenticator app added', 'New app password "Thunderbird"', 'App password "Thunderbird" used from a new address'];
    let messages: string[] = [];
    await expect
      .poll(() => {
        messages = imapMessages(imapPort, ADMIN.username, password);
        return expected.filter((subject) => messages.some((message) => message.includes(`Subject: ${subject}`)));
      }, { timeout: 30_000, message: 'alerts in the mailbox' })
      .toEqual(expected)
      .catch((error) => { throw new Error(`${error}\nIMAP: ${messages.join('\n---\n')}\n${postfix.log()}\n${server.log()}`); });
    expect(messages).toHaveLength(3);
    // Bodies are quoted-printable: undo the soft line breaks and escapes, as a mail client does.
    const all = messages.join('\n').replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
    expect(all).toContain('From: Latchkey <security@contoso.example>');
    expect(all).toContain('To: ada@contoso.example');
    expect(all).toContain('from 192.0.2.7 (IMAP)');
    expect(all).toContain(`${server.baseURL}/security-info`);
    // The secret itself is never mailed, in any spelling.
    expect(all.replace(/\s/g, '').toLowerCase()).not.toContain(password.replace(/\s/g, '').toLowerCase());
  } finally {
    await postfix.stop();
    await dovecot.stop();
    await stop();
  }
});

test('nginx auth_request lets an app password through to a protected location', async ({ page, server }) => {
  needs('/usr/sbin/nginx');
  const password = await createAppPassword(page, server, 'DAV sync');
  await page.getByRole('dialog', { name: 'App password' }).getByRole('link', { name: 'Done' }).click();

  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-nginx-'));
  mkdirSync(path.join(dir, 'www', 'dav'), { recursive: true });
  writeFileSync(path.join(dir, 'www', 'dav', 'calendar.ics'), 'BEGIN:VCALENDAR\nEND:VCALENDAR\n');
  const port = await freePort();
  // The same configuration as the README's snippet, around a static location.
  const { nginx, log, stop } = startNginx(dir, `
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
    location /dav/ {
      auth_request /latchkey-auth;
      auth_request_set $latchkey_user $upstream_http_x_latchkey_user;
      add_header X-Authenticated-User $latchkey_user;
    }
    location = /latchkey-auth {
      internal;
      proxy_pass ${server.baseURL}/auth/basic;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
`);
  const url = `http://127.0.0.1:${port}/dav/calendar.ics`;
  const curl = (...args: string[]) =>
    spawnSync('curl', ['-s', '--max-time', '20', '-D', '-', '-o', '/dev/null', ...args, url], { encoding: 'utf8' }).stdout;
  try {
    await waitForPort(port, nginx, log);
    const through = curl('--user', `${ADMIN.username}:${password}`);
    expect(through, log()).toMatch(/^HTTP\/1\.1 200/);
    expect(through).toMatch(/X-Authenticated-User: ada@contoso\.example/i);
    const without = curl();
    expect(without).toMatch(/^HTTP\/1\.1 401/);
    expect(without).toMatch(/WWW-Authenticate: Basic realm="Latchkey", charset="UTF-8"/i);
    expect(curl('--user', `${ADMIN.username}:${ADMIN.password}`)).toMatch(/^HTTP\/1\.1 401/);
  } finally {
    await stop();
  }
});

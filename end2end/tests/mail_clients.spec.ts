// Non-browser apps signing in with app passwords made through the web flow, through real
// peers: Debian's Dovecot (IMAP, `latchkey checkpassword`) with curl as the IMAP client, and
// Debian's nginx (`auth_request` to /auth/basic) with curl as the HTTP client.
import {
  test, expect, completeSetup, signIn, addAuthenticator, freePort, needs, waitForPort, stopDaemon, ADMIN, type LatchkeyServer,
} from './fixtures';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';

const root = path.resolve(__dirname, '..', '..');
const latchkey = path.join(root, 'target', 'release', 'latchkey');

/** Signs Ada in with an authenticator app and creates an app password named `name` through
 *  Security info; leaves the dialog open at the password step and returns the password. */
async function createAppPassword(page: Page, server: LatchkeyServer, name: string): Promise<string> {
  await completeSetup(page, server, { allowAppPasswords: true });
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  await addAuthenticator(page, server);
  await page.getByRole('button', { name: 'Add sign-in method' }).click();
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

/** curl's IMAP client: lists the mailboxes after LOGIN. Returns curl's exit code (67: login denied). */
function imapLogin(port: number, user: string, password: string): number {
  const result = spawnSync('curl', ['-s', '--max-time', '20', `imap://127.0.0.1:${port}/`, '--user', `${user}:${password}`], {
    encoding: 'utf8',
  });
  return result.status ?? -1;
}

test('an IMAP client signs in through Dovecot with an app password, and only with one', async ({ page, server }) => {
  needs('/usr/sbin/dovecot');
  const password = await createAppPassword(page, server, 'Thunderbird');
  const dialog = page.getByRole('dialog', { name: 'App password' });
  await expect(dialog.getByText('Waiting for the first sign-in...')).toBeVisible();

  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-dovecot-'));
  chmodSync(dir, 0o755);
  const mail = path.join(dir, 'mail');
  mkdirSync(mail);
  chmodSync(mail, 0o777);
  const port = await freePort();
  const config = path.join(dir, 'dovecot.conf');
  writeFileSync(config, `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = checkpassword
  args = ${latchkey} checkpassword --server ${server.baseURL}
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=${mail}/%u
}
mail_location = maildir:${mail}/%u
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`);
  const log = () => (existsSync(`${dir}/dovecot.log`) ? readFileSync(`${dir}/dovecot.log`, 'utf8') : '');
  const dovecot = spawn('/usr/sbin/dovecot', ['-F', '-c', config], { stdio: 'ignore' });
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
    await expect(page.getByRole('list', { name: 'Your app passwords' }).getByText(/Last used just now from 127\.0\.0\.1/)).toBeVisible();
    // Deleted on the web page: refused at the next login.
    await deleteAppPassword(page, 'Thunderbird');
    expect(imapLogin(port, ADMIN.username, password)).toBe(67);
  } finally {
    await stopDaemon(dovecot);
    rmSync(dir, { recursive: true, force: true });
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
  const config = path.join(dir, 'nginx.conf');
  // The same configuration as the README's snippet, around a static location.
  writeFileSync(config, `
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
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
}
`);
  const log = () => (existsSync(`${dir}/error.log`) ? readFileSync(`${dir}/error.log`, 'utf8') : '');
  const nginx = spawn('/usr/sbin/nginx', ['-c', config, '-p', dir], { stdio: 'ignore' });
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
    await stopDaemon(nginx);
    rmSync(dir, { recursive: true, force: true });
  }
});

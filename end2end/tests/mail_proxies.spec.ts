// App passwords made through the web flow, checked by the two mail-proxy paths that need no
// `latchkey checkpassword`, through real peers from Debian: Dovecot's Lua passdb
// (deploy/dovecot/latchkey.lua, asking /auth/basic) and nginx's mail proxy (`auth_http` to
// /auth/nginx-mail, then on to Dovecot for IMAP, and to a stand-in SMTP server that records
// what nginx hands it). curl is the IMAP client, swaks the SMTP client. An app password
// limited to sending mail is refused for IMAP on both paths, and sends through nginx.
import {
  test, expect, freePort, needs, waitForPort, stopDaemon, startServer, readyUser, openAppPasswordDialog, imapLogin,
  ADMIN, APP_PASSWORD, type LatchkeyServer,
} from './fixtures';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';

const root = path.resolve(__dirname, '..', '..');
const LUA_PASSDB = path.join(root, 'deploy', 'dovecot', 'latchkey.lua');
const SENDING_ONLY = 'Sending mail only (SMTP)';

/** Creates an app password named `name` (of `kind`, as the select words it) through Security
 *  info and closes its dialog; returns the password. */
async function newAppPassword(page: Page, name: string, kind?: string): Promise<string> {
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill(name);
  if (kind) await dialog.getByLabel('What may it use?').selectOption({ label: kind });
  await dialog.getByRole('button', { name: 'Next' }).click();
  const password = await dialog.getByLabel('Password', { exact: true }).inputValue();
  expect(password).toMatch(APP_PASSWORD);
  await dialog.getByRole('link', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  return password;
}

/** The line of app password `name` in Security info's list saying when and how it was last
 *  used (not its kind's select, whose options name protocols too). */
function lastUse(page: Page, name: string) {
  return page
    .getByRole('list', { name: 'Your app passwords' })
    .getByRole('listitem')
    .filter({ hasText: name })
    .locator('.method-detail');
}

/** Dovecot on loopback with IMAP on `imapPort` and `passdb` (the lines inside `passdb { }`). */
function startDovecotWith(imapPort: number, passdb: string, extra = '') {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-dovecot-'));
  chmodSync(dir, 0o755);
  const mail = path.join(dir, 'mail');
  mkdirSync(mail);
  chmodSync(mail, 0o777);
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
${extra}
passdb {
${passdb}
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=${mail}/%u allow_all_users=yes
}
mail_location = maildir:${mail}/%u
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
`);
  const log = () => (existsSync(`${dir}/dovecot.log`) ? readFileSync(`${dir}/dovecot.log`, 'utf8') : '');
  const dovecot = spawn('/usr/sbin/dovecot', ['-F', '-c', config], { stdio: 'ignore' });
  const stop = async () => {
    await stopDaemon(dovecot);
    rmSync(dir, { recursive: true, force: true });
  };
  return { dovecot, log, stop };
}

/** The README's Dovecot 2.3 lines for the Lua passdb, Latchkey's address passed in. */
function startDovecotWithLua(server: LatchkeyServer, imapPort: number) {
  return startDovecotWith(
    imapPort,
    `  driver = lua\n  args = file=${LUA_PASSDB} blocking=yes`,
    `import_environment = $import_environment LATCHKEY_URL=${server.baseURL}`,
  );
}

/** A stand-in for the SMTP server behind nginx on loopback: answers every command, and
 *  records the lines it is sent (nginx's XCLIENT naming the login, then the client's mail). */
async function startSmtpBackend(port: number) {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const backend = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('220 backend.contoso.example ESMTP\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        received.push(line);
        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write('250 2.0.0 queued\r\n');
          }
          continue;
        }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 backend.contoso.example\r\n');
        // Postfix greets again after XCLIENT, as nginx expects.
        else if (verb === 'XCLIENT') socket.write('220 backend.contoso.example ESMTP\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n');
        else socket.write('250 2.0.0 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => backend.listen(port, '127.0.0.1', resolve));
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => backend.close(resolve));
  };
  return { received, stop };
}

/** swaks sending one message through `port` with SMTP AUTH PLAIN; its exit code and transcript.
 *  Not spawnSync: the stand-in SMTP server answers nginx from this same process. */
function smtpSend(port: number, user: string, password: string, subject: string): Promise<{ code: number; transcript: string }> {
  const swaks = spawn('swaks', [
    '--server', `127.0.0.1:${port}`, '--from', user, '--to', 'grace@contoso.example', '--header', `Subject: ${subject}`,
    '--auth', 'PLAIN', '--auth-user', user, '--auth-password', password, '--timeout', '20',
  ]);
  let transcript = '';
  swaks.stdout.on('data', (chunk) => (transcript += chunk.toString()));
  swaks.stderr.on('data', (chunk) => (transcript += chunk.toString()));
  return new Promise((resolve) => swaks.on('close', (code) => resolve({ code: code ?? -1, transcript })));
}

/** Debian's nginx as a mail proxy on loopback: IMAP on `imapPort` and SMTP on `smtpPort`, logins
 *  checked by `auth_http` at Latchkey's /auth/nginx-mail (the README's recipe, without TLS). */
function startNginxMailProxy(server: LatchkeyServer, imapPort: number, smtpPort: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-nginx-mail-'));
  const config = path.join(dir, 'nginx.conf');
  writeFileSync(config, `
load_module /usr/lib/nginx/modules/ngx_mail_module.so;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events {}
mail {
  auth_http ${server.baseURL.replace('http://', '')}/auth/nginx-mail;
  proxy_pass_error_message on;
  server {
    listen 127.0.0.1:${imapPort};
    protocol imap;
    imap_auth plain login;
  }
  server {
    listen 127.0.0.1:${smtpPort};
    protocol smtp;
    smtp_auth plain login;
  }
}
`);
  const log = () => (existsSync(`${dir}/error.log`) ? readFileSync(`${dir}/error.log`, 'utf8') : '');
  const nginx = spawn('/usr/sbin/nginx', ['-c', config, '-p', dir], { stdio: 'ignore' });
  const stop = async () => {
    await stopDaemon(nginx);
    rmSync(dir, { recursive: true, force: true });
  };
  return { nginx, log, stop };
}

test('Dovecot signs IMAP clients in through the Lua passdb with app passwords, each within its kind', async ({ page, server }) => {
  needs('/usr/sbin/dovecot');
  needs('/usr/lib/dovecot/modules/auth/libauthdb_lua.so');
  needs('/usr/share/lua/5.4/socket/http.lua');
  await readyUser(page, server);
  const mail = await newAppPassword(page, 'Thunderbird');
  const printer = await newAppPassword(page, 'Printer', SENDING_ONLY);

  const port = await freePort();
  const { dovecot, log, stop } = startDovecotWithLua(server, port);
  try {
    await waitForPort(port, dovecot, log);
    expect(imapLogin(port, ADMIN.username, mail), log()).toBe(0);
    // Refused: a wrong app password, the account password, an app password for sending only.
    expect(imapLogin(port, ADMIN.username, 'abcd efgh ijkl mnop'), log()).toBe(67);
    expect(imapLogin(port, ADMIN.username, ADMIN.password)).toBe(67);
    expect(imapLogin(port, ADMIN.username, printer), log()).toBe(67);
    // Dovecot named the protocol and the client: the list shows both.
    await page.reload();
    const used = lastUse(page, 'Thunderbird');
    await expect(used).toContainText('IMAP');
    await expect(used).toContainText('127.0.0.1');
  } finally {
    await stop();
  }
});

test('nginx proxies IMAP and SMTP for app passwords only, each within its kind, checked at /auth/nginx-mail', async ({ page }) => {
  needs('/usr/sbin/dovecot');
  needs('/usr/sbin/nginx');
  needs('/usr/lib/nginx/modules/ngx_mail_module.so');
  needs('/usr/bin/swaks');
  const [backendPort, proxyPort, smtpBackendPort, smtpProxyPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const { server, stop: stopServer } = await startServer({
    LATCHKEY_NGINX_MAIL_IMAP_UPSTREAM: `127.0.0.1:${backendPort}`,
    LATCHKEY_NGINX_MAIL_SMTP_UPSTREAM: `127.0.0.1:${smtpBackendPort}`,
  });
  // Dovecot behind nginx trusts nginx's word (the login was checked at /auth/nginx-mail), as
  // a backend behind a mail proxy does: it accepts any password from loopback only.
  const dovecot = startDovecotWith(backendPort, '  driver = static\n  args = nopassword=y allow_nets=127.0.0.1/32');
  const smtpBackend = await startSmtpBackend(smtpBackendPort);
  const nginx = startNginxMailProxy(server, proxyPort, smtpProxyPort);
  try {
    await readyUser(page, server);
    const mail = await newAppPassword(page, 'Thunderbird');
    const printer = await newAppPassword(page, 'Printer', SENDING_ONLY);
    await waitForPort(backendPort, dovecot.dovecot, dovecot.log);
    await waitForPort(proxyPort, nginx.nginx, nginx.log);
    const logs = () => `${nginx.log()}\n${dovecot.log()}\n${server.log()}`;

    expect(imapLogin(proxyPort, ADMIN.username, mail), logs()).toBe(0);
    // The login reached Dovecot through nginx.
    expect(dovecot.log()).toContain(`Login: user=<${ADMIN.username}>`);
    expect(imapLogin(proxyPort, ADMIN.username, 'abcd efgh ijkl mnop'), logs()).toBe(67);
    expect(imapLogin(proxyPort, ADMIN.username, ADMIN.password), logs()).toBe(67);
    expect(imapLogin(proxyPort, ADMIN.username, printer), logs()).toBe(67);
    // Latchkey recorded nginx's protocol and the client's address.
    await page.reload();
    const used = lastUse(page, 'Thunderbird');
    await expect(used).toContainText('IMAP');
    await expect(used).toContainText('127.0.0.1');

    // The printer's app password sends through nginx: the SMTP server behind gets nginx's
    // XCLIENT naming the login, then the message.
    const sent = await smtpSend(smtpProxyPort, ADMIN.username, printer, 'Scanned document');
    expect(sent.code, `${sent.transcript}\n${logs()}`).toBe(0);
    expect(smtpBackend.received.join('\n')).toContain(`LOGIN=${ADMIN.username}`);
    expect(smtpBackend.received).toContain('Subject: Scanned document');
    await page.reload();
    await expect(lastUse(page, 'Printer')).toContainText('SMTP');
    // A wrong app password and the account password get SMTP's 535 and reach no server.
    const linesBefore = smtpBackend.received.length;
    for (const password of ['abcd efgh ijkl mnop', ADMIN.password]) {
      const refused = await smtpSend(smtpProxyPort, ADMIN.username, password, 'Refused');
      expect(refused.code).not.toBe(0);
      expect(refused.transcript).toMatch(/<\*\*\s+535 5\.7\.8 Invalid login or password/);
    }
    expect(smtpBackend.received.length).toBe(linesBefore);
  } finally {
    await nginx.stop();
    await smtpBackend.stop();
    await dovecot.stop();
    await stopServer();
  }
});

// App passwords made through the web flow, checked by the two mail-proxy paths that need no
// `latchkey checkpassword`, through real peers from Debian: Dovecot's Lua passdb
// (deploy/dovecot/latchkey.lua, asking /auth/basic) and nginx's mail proxy (`auth_http` to
// /auth/nginx-mail, then on to Dovecot for IMAP, and to Postfix for SMTP, which delivers to
// Dovecot over LMTP). curl is the IMAP client, swaks the SMTP client. An app password limited
// to sending mail is refused for IMAP on both paths, and sends through nginx.
import {
  test, expect, freePort, needs, waitForPort, stopDaemon, startServer, startPostfix, readyUser, newAppPassword, lastUse,
  imapLogin, ADMIN, type LatchkeyServer,
} from './fixtures';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const LUA_PASSDB = path.join(root, 'deploy', 'dovecot', 'latchkey.lua');
const SENDING_ONLY = 'Sending mail only (SMTP)';

/** Dovecot on loopback with IMAP on `imapPort` and `passdb` (the lines inside `passdb { }`);
 *  with `lmtpPort`, LMTP delivery there too, into maildirs under `mail`. */
function startDovecotWith(imapPort: number, passdb: string, extra = '', lmtpPort?: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-dovecot-'));
  chmodSync(dir, 0o755);
  const mail = path.join(dir, 'mail');
  mkdirSync(mail);
  chmodSync(mail, 0o777);
  const config = path.join(dir, 'dovecot.conf');
  writeFileSync(config, `
protocols = imap${lmtpPort ? ' lmtp' : ''}
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
${lmtpPort ? `service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
}` : ''}
`);
  const log = () => (existsSync(`${dir}/dovecot.log`) ? readFileSync(`${dir}/dovecot.log`, 'utf8') : '');
  const dovecot = spawn('/usr/sbin/dovecot', ['-F', '-c', config], { stdio: 'ignore' });
  const stop = async () => {
    await stopDaemon(dovecot);
    rmSync(dir, { recursive: true, force: true });
  };
  return { dovecot, log, mail, stop };
}

/** The README's Dovecot 2.3 lines for the Lua passdb, Latchkey's address passed in. */
function startDovecotWithLua(server: LatchkeyServer, imapPort: number) {
  return startDovecotWith(
    imapPort,
    `  driver = lua\n  args = file=${LUA_PASSDB} blocking=yes`,
    `import_environment = $import_environment LATCHKEY_URL=${server.baseURL}`,
  );
}

/** The README's lines for Postfix behind nginx: it trusts nginx's XCLIENT from loopback (the
 *  login nginx checked at /auth/nginx-mail counts as SMTP AUTH), names that login in a header,
 *  and relays for nobody else: mail from loopback without that login is refused. */
const XCLIENT_FROM_NGINX = `smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_sasl_authenticated_header = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject`;

/** swaks sending one message to Grace through `port` with SMTP AUTH PLAIN; its exit code and
 *  transcript. */
function smtpSend(port: number, user: string, password: string, subject: string): { code: number; transcript: string } {
  const result = spawnSync('swaks', [
    '--server', `127.0.0.1:${port}`, '--from', user, '--to', 'grace@contoso.example', '--header', `Subject: ${subject}`,
    '--auth', 'PLAIN', '--auth-user', user, '--auth-password', password, '--timeout', '20',
  ], { encoding: 'utf8' });
  return { code: result.status ?? -1, transcript: result.stdout + result.stderr };
}

/** The messages delivered to `mailbox`'s maildir under `mail` (new, not yet read). */
function delivered(mail: string, mailbox: string): string[] {
  const inbox = path.join(mail, mailbox, 'new');
  return existsSync(inbox) ? readdirSync(inbox).map((file) => readFileSync(path.join(inbox, file), 'utf8')) : [];
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
    # The default, spelled out: nginx names the checked login to Postfix with XCLIENT.
    xclient on;
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
  // Three daemons and a delivery through Postfix: about 25 s alone, over 60 s once when the
  // other worker was busy too.
  test.setTimeout(120_000);
  needs('/usr/sbin/dovecot');
  needs('/usr/sbin/postfix');
  needs('/usr/sbin/nginx');
  needs('/usr/lib/nginx/modules/ngx_mail_module.so');
  needs('/usr/bin/swaks');
  const [backendPort, lmtpPort, proxyPort, smtpBackendPort, smtpProxyPort] =
    [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const { server, stop: stopServer } = await startServer({
    LATCHKEY_NGINX_MAIL_IMAP_UPSTREAM: `127.0.0.1:${backendPort}`,
    LATCHKEY_NGINX_MAIL_SMTP_UPSTREAM: `127.0.0.1:${smtpBackendPort}`,
  });
  // Dovecot behind nginx trusts nginx's word (the login was checked at /auth/nginx-mail), as
  // a backend behind a mail proxy does: it accepts any password from loopback only.
  // It also takes Postfix's deliveries over LMTP.
  const dovecot = startDovecotWith(backendPort, '  driver = static\n  args = nopassword=y allow_nets=127.0.0.1/32', '', lmtpPort);
  const postfix = startPostfix({ smtpPort: smtpBackendPort, lmtpPort }, XCLIENT_FROM_NGINX);
  const nginx = startNginxMailProxy(server, proxyPort, smtpProxyPort);
  try {
    await readyUser(page, server);
    const mail = await newAppPassword(page, 'Thunderbird');
    const printer = await newAppPassword(page, 'Printer', SENDING_ONLY);
    await waitForPort(backendPort, dovecot.dovecot, dovecot.log);
    await waitForPort(lmtpPort, dovecot.dovecot, dovecot.log);
    await waitForPort(smtpBackendPort, postfix.postfix, postfix.log);
    await waitForPort(proxyPort, nginx.nginx, nginx.log);
    const logs = () => `${nginx.log()}\n${postfix.log()}\n${dovecot.log()}\n${server.log()}`;

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

    // Postfix relays only for a login nginx names: straight from loopback, without one, refused.
    const bypass = spawnSync('swaks', [
      '--server', `127.0.0.1:${smtpBackendPort}`, '--from', ADMIN.username, '--to', 'grace@contoso.example', '--timeout', '20',
    ], { encoding: 'utf8' });
    expect(bypass.stdout, logs()).toMatch(/<\*\*\s+554 5\.7\.1 <grace@contoso\.example>: Recipient address rejected/);

    // The printer's app password sends through nginx: Postfix learns the login from nginx's
    // XCLIENT, relays, and the message lands in Grace's mailbox over LMTP.
    const sent = smtpSend(smtpProxyPort, ADMIN.username, printer, 'Scanned document');
    expect(sent.code, `${sent.transcript}\n${logs()}`).toBe(0);
    expect(sent.transcript).toMatch(/<-\s+235 /);
    await expect
      .poll(() => delivered(dovecot.mail, 'grace@contoso.example').length, { timeout: 20_000, message: 'delivered' })
      .toBe(1)
      .catch((error) => { throw new Error(`${error}\n${logs()}`); });
    const [message] = delivered(dovecot.mail, 'grace@contoso.example');
    expect(message).toContain('Subject: Scanned document');
    expect(message).toContain(`(Authenticated sender: ${ADMIN.username})`);
    expect(postfix.log()).toContain(`sasl_method=XCLIENT, sasl_username=${ADMIN.username}`);
    await page.reload();
    await expect(lastUse(page, 'Printer')).toContainText('SMTP');

    // A wrong app password and the account password get SMTP's 535 from nginx, which never
    // connects to Postfix for them: nothing more arrives.
    const connections = () => postfix.log().split('\n').filter((line) => line.includes('postfix/smtpd') && line.includes(': connect from ')).length;
    const connectionsBefore = connections();
    for (const password of ['abcd efgh ijkl mnop', ADMIN.password]) {
      const refused = smtpSend(smtpProxyPort, ADMIN.username, password, 'Refused');
      expect(refused.code).not.toBe(0);
      expect(refused.transcript).toMatch(/<\*\*\s+535 5\.7\.8 Invalid login or password/);
    }
    expect(connections(), logs()).toBe(connectionsBefore);
    const messages = delivered(dovecot.mail, 'grace@contoso.example');
    expect(messages).toHaveLength(1);
    expect(messages.join('\n')).not.toContain('Subject: Refused');
  } finally {
    await nginx.stop();
    await postfix.stop();
    await dovecot.stop();
    await stopServer();
  }
});

// Two Latchkey instances on one PostgreSQL database behind Debian's nginx, balancing request
// by request: a person in the browser signs in, adds an authenticator app, creates and deletes
// an app password while their requests land on both instances; an IMAP client (curl through
// Dovecot and `latchkey checkpassword`, pointed at nginx) signs in through both, and is
// refused by both once the app password is deleted.
import {
  test, expect, completeSetup, signIn, addAuthenticator, openAppPasswordDialog, freePort, needs, waitForPort,
  startServer, startNginx, startDovecot, imapLogin, createPostgresDatabase, ADMIN, type StartedServer,
} from './fixtures';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

test('two instances behind nginx share sign-in, app passwords and their revocation', async ({ page }) => {
  needs('/usr/sbin/nginx');
  needs('/usr/sbin/dovecot');
  test.setTimeout(120_000);
  const database = createPostgresDatabase();
  const shared = mkdtempSync(path.join(tmpdir(), 'latchkey-two-'));
  const environment = {
    LATCHKEY_DATABASE_URL: database.url,
    LATCHKEY_SECRET_KEY_FILE: path.join(shared, 'secret.key'),
    LATCHKEY_TRUSTED_PROXIES: '127.0.0.1',
  };
  const instances: StartedServer[] = [];
  let proxy: ReturnType<typeof startNginx> | undefined;
  let mail: ReturnType<typeof startDovecot> | undefined;
  try {
    // The first creates the key and the schema; the second starts on them.
    instances.push(await startServer(environment));
    instances.push(await startServer(environment));
    const ports = instances.map((i) => new URL(i.server.baseURL).port);

    const port = await freePort();
    const proxyDir = mkdtempSync(path.join(tmpdir(), 'latchkey-balancer-'));
    const accessLog = path.join(proxyDir, 'access.log');
    proxy = startNginx(proxyDir, `
  log_format upstreams '$request_method $uri $status $upstream_addr';
  upstream latchkey {
    server 127.0.0.1:${ports[0]};
    server 127.0.0.1:${ports[1]};
  }
  server {
    listen 127.0.0.1:${port};
    access_log ${accessLog} upstreams;
    location / {
      proxy_pass http://latchkey;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
`);
    await waitForPort(port, proxy.nginx, proxy.log);
    const balanced = { ...instances[0].server, baseURL: `http://127.0.0.1:${port}` };
    const answeredBy = (what: RegExp) => {
      const lines = existsSync(accessLog) ? readFileSync(accessLog, 'utf8').split('\n') : [];
      return new Set(lines.filter((l) => what.test(l)).map((l) => l.split(' ').pop()));
    };

    // Setup is opened where its link was printed (the link lives in that process only).
    await completeSetup(page, instances[0].server, { allowAppPasswords: true });
    await signIn(page, balanced);
    await expect(page).toHaveURL(balanced.baseURL + '/');
    await addAuthenticator(page, balanced);
    const dialog = await openAppPasswordDialog(page);
    await dialog.getByLabel('Name').fill('Thunderbird');
    await dialog.getByRole('button', { name: 'Next' }).click();
    const password = await dialog.getByLabel('Password', { exact: true }).inputValue();
    await dialog.getByRole('link', { name: 'Done' }).click();
    const list = page.getByRole('list', { name: 'Your app passwords' });
    await expect(list.getByText('Thunderbird')).toBeVisible();
    // The person's requests were answered by both instances.
    expect(answeredBy(/^(GET|POST) /).size, readFileSync(accessLog, 'utf8')).toBe(2);

    // The mail client signs in through nginx, so its checks land on both instances.
    const imapPort = await freePort();
    mail = startDovecot(balanced, { imapPort });
    await waitForPort(imapPort, mail.dovecot, mail.log);
    for (let i = 0; i < 4; i++) expect(imapLogin(imapPort, ADMIN.username, password), mail.log()).toBe(0);
    expect(answeredBy(/^GET \/auth\/basic 204 /).size).toBe(2);

    // Deleted on whichever instance the browser reaches: both refuse it (the other one hears
    // of it from PostgreSQL within milliseconds).
    await list.getByRole('button', { name: 'Delete app password Thunderbird' }).click();
    await page.getByRole('dialog', { name: 'Delete app password?' }).getByRole('button', { name: 'Yes' }).click();
    await expect(list.getByText('Thunderbird')).toBeHidden();
    for (let i = 0; i < 4; i++) expect(imapLogin(imapPort, ADMIN.username, password)).toBe(67);
    expect(answeredBy(/^GET \/auth\/basic 401 /).size).toBe(2);
  } finally {
    await mail?.stop();
    await proxy?.stop();
    for (const instance of instances) await instance.stop();
    database.drop();
    rmSync(shared, { recursive: true, force: true });
  }
});

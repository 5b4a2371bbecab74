// The portal behind real nginx terminating TLS (a self-signed certificate made here), with the
// README's proxy configuration: a browser signs in through it, the session cookie is Secure,
// HSTS is sent, and Latchkey records the client's address as the proxy reports it, not the
// proxy's own.
import { test, expect, completeSetup, signIn, freePort, needs, waitForPort, startNginx, startServer } from './fixtures';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The addresses of Latchkey's audit events of `kind`, oldest first, read from its SQLite file. */
function auditAddresses(databaseUrl: string, kind: string): string[] {
  const file = databaseUrl.replace(/^sqlite:\/\//, '');
  const query = `SELECT coalesce(ip, '-') FROM audit_events WHERE kind = '${kind}' ORDER BY id`;
  return execFileSync('sqlite3', [file, query], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

test('behind nginx with TLS: a browser signs in, the cookie is Secure, HSTS is sent, addresses come from the proxy', async ({ browser }) => {
  needs('/usr/sbin/nginx');
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-tls-'));
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  // nginx connects from 127.0.0.2, the only trusted proxy: the browser's own connections
  // (from 127.0.0.1) could not vouch for an address.
  const { server, stop } = await startServer({
    LATCHKEY_PUBLIC_URL: publicUrl,
    LATCHKEY_TRUSTED_PROXIES: '127.0.0.2',
  });
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`,
  ], { stdio: 'ignore' });
  // The README's server block, with test paths.
  const { nginx, log, stop: stopNginx } = startNginx(dir, `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_pass ${server.baseURL};
      proxy_bind 127.0.0.2;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
`);
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    await waitForPort(port, nginx, log);
    const page = await context.newPage();
    const throughProxy = { ...server, baseURL: publicUrl };
    expect(server.setupUrl.startsWith(publicUrl + '/setup?token='), 'the setup link names the public URL').toBe(true);
    await completeSetup(page, throughProxy);
    await signIn(page, throughProxy);
    await expect(page).toHaveURL(publicUrl + '/');
    await expect(page).toHaveTitle('My Profile - Latchkey');
    // Hydrated through the proxy: client-side navigation works.
    await page.waitForFunction(() => performance.getEntriesByName('hydrated').length > 0);
    await page.getByRole('navigation', { name: 'My Profile' }).getByRole('link', { name: 'Security info' }).click();
    await expect(page.getByRole('heading', { name: 'Security info', level: 1 })).toBeVisible();

    const cookies = await context.cookies(publicUrl);
    const session = cookies.find((cookie) => cookie.name === '__Host-latchkey_session');
    expect(session, JSON.stringify(cookies)).toBeTruthy();
    expect(session?.secure).toBe(true);
    expect(session?.httpOnly).toBe(true);

    const answer = await page.goto(publicUrl + '/security-info');
    expect(answer?.headers()['strict-transport-security']).toMatch(/max-age=\d+/);

    // The browser's address, as nginx reported it; not nginx's own (127.0.0.2).
    expect(auditAddresses(server.databaseUrl, 'setup.completed')).toEqual(['127.0.0.1']);
    expect(auditAddresses(server.databaseUrl, 'sign_in.succeeded')).toEqual(['127.0.0.1']);
    // Straight to Latchkey from an address that is no trusted proxy, a forged header counts
    // for nothing.
    await context.request.post(server.baseURL + '/api/sign_in', {
      headers: { 'X-Forwarded-For': '203.0.113.9', Accept: 'application/json' },
      form: { username: 'ada@contoso.example', password: 'wrong password here' },
    });
    expect(auditAddresses(server.databaseUrl, 'sign_in.failed')).toEqual(['127.0.0.1']);
  } finally {
    await context.close();
    await stopNginx();
    await stop();
  }
});

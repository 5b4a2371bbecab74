// Calendars through a real CalDAV server: Debian's Radicale behind Debian's nginx, which asks
// Latchkey's /auth/basic before every request (`auth_request`, naming the protocol `caldav`)
// and hands Radicale the checked sign-in name in X-Remote-User, without the password (the
// README's recipe). An app password for calendars and contacts stores an event and reads it
// back; one for sending mail only, a wrong one and the account password get nginx's 401 and
// never reach Radicale.
import { test, expect, freePort, needs, waitForPort, stopDaemon, startNginx, readyUser, newAppPassword, lastUse, ADMIN } from './fixtures';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CALENDARS = 'Calendars and contacts (CalDAV, CardDAV)';
const SENDING_ONLY = 'Sending mail only (SMTP)';

/** Radicale on loopback `port`, trusting X-Remote-User (only nginx reaches it), each person
 *  limited to their own collections, storing them in a temporary folder. Its log is at debug
 *  level, which lists each request's headers (passwords masked, yet named if present). */
function startRadicale(port: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-radicale-'));
  const config = path.join(dir, 'radicale.conf');
  writeFileSync(config, `
[server]
hosts = 127.0.0.1:${port}
[auth]
type = http_x_remote_user
[rights]
type = owner_only
[storage]
filesystem_folder = ${dir}/collections
[web]
type = none
[logging]
level = debug
mask_passwords = True
`);
  let output = '';
  // --config names the only file read: not the machine's /etc/radicale/config.
  const radicale = spawn('/usr/bin/radicale', ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  radicale.stdout?.on('data', (chunk) => (output += chunk.toString()));
  radicale.stderr?.on('data', (chunk) => (output += chunk.toString()));
  const log = () => output;
  /** The requests that reached Radicale (one log line each). */
  const requests = () => output.split('\n').filter((line) => /\[INFO\] \w+ request for '/.test(line)).length;
  const stop = async () => {
    await stopDaemon(radicale);
    rmSync(dir, { recursive: true, force: true });
  };
  return { radicale, log, requests, collections: path.join(dir, 'collections'), stop };
}

const EVENT = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Contoso//Latchkey test//EN',
  'BEGIN:VEVENT', 'UID:standup-20261207@contoso.example', 'DTSTAMP:20261206T120000Z',
  'DTSTART:20261207T090000Z', 'DTEND:20261207T091500Z', 'SUMMARY:Stand-up',
  'END:VEVENT', 'END:VCALENDAR', '',
].join('\r\n');

const QUERY = `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>
</C:calendar-query>`;

test('Radicale behind nginx auth_request: a calendars app password syncs, a sending-only one is refused', async ({ page, server }) => {
  needs('/usr/sbin/nginx');
  needs('/usr/bin/radicale');
  await readyUser(page, server);
  const calendars = await newAppPassword(page, 'Phone calendar', CALENDARS);
  const printer = await newAppPassword(page, 'Printer', SENDING_ONLY);

  const [radicalePort, proxyPort] = [await freePort(), await freePort()];
  const radicale = startRadicale(radicalePort);
  // The README's recipe: every request under /radicale/ is checked first; Radicale learns who
  // from Latchkey's answer (X-Latchkey-User), never from the client, and never sees the password.
  const nginx = startNginx(mkdtempSync(path.join(tmpdir(), 'latchkey-nginx-')), `
  server {
    listen 127.0.0.1:${proxyPort};
    location /radicale/ {
      auth_request /latchkey-auth-caldav;
      auth_request_set $latchkey_user $upstream_http_x_latchkey_user;
      proxy_pass http://127.0.0.1:${radicalePort}/;
      proxy_set_header X-Script-Name /radicale;
      proxy_set_header X-Remote-User $latchkey_user;
      proxy_set_header Authorization "";
    }
    location = /latchkey-auth-caldav {
      internal;
      proxy_pass ${server.baseURL}/auth/basic;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Latchkey-Protocol caldav;
    }
  }
`);
  const logs = () => `${nginx.log()}\n${radicale.log()}\n${server.log()}`;
  const calendar = `http://127.0.0.1:${proxyPort}/radicale/${ADMIN.username}/calendar/`;
  const dav = (method: string, url: string, password: string | null, body?: string, headers: Record<string, string> = {}) =>
    fetch(url, {
      method,
      body,
      headers: {
        ...(password === null ? {} : { Authorization: 'Basic ' + Buffer.from(`${ADMIN.username}:${password}`).toString('base64') }),
        ...headers,
      },
    });
  try {
    await waitForPort(radicalePort, radicale.radicale, radicale.log);
    await waitForPort(proxyPort, nginx.nginx, nginx.log);

    // The calendars app password makes a calendar, stores an event and reads it back, as a
    // phone's calendar app does.
    expect((await dav('MKCALENDAR', calendar, calendars)).status, logs()).toBe(201);
    const put = await dav('PUT', calendar + 'standup.ics', calendars, EVENT, { 'Content-Type': 'text/calendar; charset=utf-8' });
    expect(put.status, logs()).toBe(201);
    const got = await dav('GET', calendar + 'standup.ics', calendars);
    expect(got.status).toBe(200);
    expect(await got.text()).toContain('SUMMARY:Stand-up');
    const report = await dav('REPORT', calendar, calendars, QUERY, { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' });
    expect(report.status).toBe(207);
    const found = await report.text();
    // Under nginx's prefix (X-Script-Name), the name percent-encoded as WebDAV does.
    expect(found).toContain(`/radicale/${encodeURIComponent(ADMIN.username)}/calendar/standup.ics`);
    expect(found).toContain('UID:standup-20261207@contoso.example');
    // Radicale stored it under Ada's own collection.
    const stored = path.join(radicale.collections, 'collection-root', ADMIN.username, 'calendar', 'standup.ics');
    expect(readFileSync(stored, 'utf8')).toContain('SUMMARY:Stand-up');
    // A client's own X-Remote-User is replaced by nginx: Grace's collection stays out of reach.
    const spoofed = await dav('MKCALENDAR', `http://127.0.0.1:${proxyPort}/radicale/grace@contoso.example/calendar/`, calendars, undefined, {
      'X-Remote-User': 'grace@contoso.example',
    });
    expect(spoofed.status).toBe(403);
    expect(existsSync(path.join(radicale.collections, 'collection-root', 'grace@contoso.example', 'calendar'))).toBe(false);

    // Refused by Latchkey, answered by nginx: the sending-only app password (outside its kind),
    // a wrong one, the account password and no credentials.
    for (const password of [printer, 'abcd efgh ijkl mnop', ADMIN.password, null]) {
      for (const [method, body] of [['GET', undefined], ['PUT', EVENT.replace('Stand-up', 'Overwritten')]] as const) {
        const refused = await dav(method, calendar + 'standup.ics', password, body, { 'Content-Type': 'text/calendar' });
        expect(refused.status, `${method} with ${password === printer ? 'the sending-only app password' : password}`).toBe(401);
        expect(refused.headers.get('www-authenticate')).toBe('Basic realm="Latchkey", charset="UTF-8"');
      }
    }
    expect(readFileSync(stored, 'utf8')).not.toContain('Overwritten');
    // Radicale's log arrives through a pipe, a moment after its answers: one more request, let
    // through and marked by its User-Agent, ends it (a refused one that got through would be
    // logged before it).
    const last = await dav('GET', calendar + 'standup.ics', calendars, undefined, { 'User-Agent': 'after-refusals' });
    expect(last.status).toBe(200);
    await expect.poll(() => radicale.log().includes("using 'after-refusals'"), { message: logs() }).toBe(true);
    // MKCALENDAR, PUT, GET, REPORT, the spoofed MKCALENDAR and that GET: none of the refused.
    expect(radicale.requests(), logs()).toBe(6);
    // Radicale saw the name Latchkey checked, never the client's own, and no Authorization
    // header at all.
    expect(radicale.log()).toContain(`'HTTP_X_REMOTE_USER': '${ADMIN.username}'`);
    expect(radicale.log()).not.toContain("'HTTP_X_REMOTE_USER': 'grace@contoso.example'");
    expect(radicale.log()).not.toContain('HTTP_AUTHORIZATION');

    // Security info: the calendars app password was last used for CalDAV, through nginx, from
    // the client's address; the refused sending-only one was never used.
    await page.reload();
    await expect(lastUse(page, 'Phone calendar')).toContainText(/Last used: CalDAV, just now from 127\.0\.0\.1/);
    await expect(lastUse(page, 'Printer')).toContainText('Never used');
  } finally {
    await nginx.stop();
    await radicale.stop();
  }
});

// Starts the real release server (target/release/latchkey) on a free loopback port with a
// temporary SQLite database, one per test, and reads the one-time setup link from its log.
import { test as base, expect, type Page } from '@playwright/test';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

export interface LatchkeyServer {
  baseURL: string;
  databaseUrl: string;
  setupUrl: string;
  log: () => string;
}

/** Ports this worker handed out already: the system may offer a port again as soon as its
 *  probe closes, and a test asking for two (a site and its metrics listener) must get two. */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        probe.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface StartedServer {
  server: LatchkeyServer;
  /** Ends the server (SIGTERM) and removes its folder. */
  stop: () => Promise<void>;
  /** The server's process, for tests that kill it or read its memory. */
  child: ChildProcess;
}

/** Starts the release binary; `extraEnvironment` may point it at another database or key.
 *  A database that is already set up prints no setup link (`setupUrl` is then empty). */
export async function startServer(
  extraEnvironment: Record<string, string> = {},
  options: { host?: '127.0.0.1' | 'localhost' } = {},
): Promise<StartedServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-e2e-'));
  const port = await freePort();
  // Passkeys need a host name as their relying party (browsers refuse IP addresses): a server
  // started for them is reached, and knows itself, as http://localhost:PORT.
  const host = options.host ?? '127.0.0.1';
  const baseURL = `http://${host}:${port}`;
  if (host === 'localhost') extraEnvironment = { LATCHKEY_PUBLIC_URL: baseURL, ...extraEnvironment };
  const databaseUrl = `sqlite://${path.join(dir, 'latchkey.db')}`;
  // The release binary copied alone to an empty folder and run there: it must serve the whole
  // app from the files built into it (one file to deploy).
  const binary = path.join(dir, 'latchkey');
  copyFileSync(path.join(root, 'target', 'release', 'latchkey'), binary);
  const { LEPTOS_SITE_ROOT: _unused, ...environment } = process.env;
  const child: ChildProcess = spawn(binary, [], {
    cwd: dir,
    env: {
      ...environment,
      LATCHKEY_DATABASE_URL: databaseUrl,
      LATCHKEY_ADDR: `127.0.0.1:${port}`,
      LATCHKEY_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
      LATCHKEY_LOG: process.env.LATCHKEY_TEST_LOG ?? "info",
      NO_COLOR: '1',
      ...extraEnvironment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk) => (output += chunk.toString()));

  const deadline = Date.now() + 20_000;
  let setupUrl = '';
  let listening = false;
  while (Date.now() < deadline) {
    // The setup link is logged before the server listens (which a quieter log level does
    // not say: then the health check tells, and the log gets a moment to arrive through its
    // pipe, which may lag behind the answer).
    let answers = output.includes('Latchkey is listening');
    if (!answers && (await fetch(`${baseURL}/healthz`).then((r) => r.ok, () => false))) {
      await new Promise((r) => setTimeout(r, 300));
      answers = true;
    }
    if (answers) {
      listening = true;
      setupUrl = output.match(/setup_url=(\S+)/)?.[1] ?? '';
      break;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!listening) {
    child.kill('SIGKILL');
    throw new Error(`latchkey did not start:\n${output}`);
  }
  const stop = async () => {
    // A process ended by a signal has no exit code, only a signal code.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { server: { baseURL, databaseUrl: extraEnvironment.LATCHKEY_DATABASE_URL ?? databaseUrl, setupUrl, log: () => output }, stop, child };
}

/**
 * Fails the test on any console error or page error. The one exception is the browser's own
 * note that a response had a 4xx status: a 404 page or a refused form is an answer, not a fault.
 */
function watchConsole(page: Page, problems: string[]) {
  page.on('console', (message) => {
    const text = message.text();
    const expectedHttpAnswer = /^Failed to load resource: the server responded with a status of 4\d\d/.test(text);
    if (message.type() === 'error' && !expectedHttpAnswer) problems.push(`console: ${text}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
}

export const test = base.extend<{ server: LatchkeyServer; consoleProblems: string[] }>({
  server: async ({}, use, testInfo) => {
    const { server, stop } = await startServer();
    await use(server);
    await stop();
    // The server's log helps explain a failure.
    if (testInfo.status !== testInfo.expectedStatus) writeFileSync(testInfo.outputPath('server.log'), server.log());
  },
  consoleProblems: [
    // Depends on the server so that it is checked before the server stops: requests still in
    // flight at the end of a test would otherwise fail with "connection refused".
    async ({ page, server }, use) => {
      void server;
      const problems: string[] = [];
      watchConsole(page, problems);
      await use(problems);
      expect(problems, 'no console errors').toEqual([]);
    },
    { auto: true },
  ],
});

/**
 * Repeats an interaction until the page reacts to it: events sent before the WebAssembly
 * has hydrated the page are lost, so the first tries may do nothing.
 */
export async function untilItResponds(interaction: () => Promise<void>) {
  await expect(interaction).toPass({ intervals: [100, 250, 500], timeout: 20_000 });
}

/** Completes first-time setup through the page, as an administrator would. */
export async function completeSetup(page: Page, server: LatchkeyServer, options: { allowAppPasswords?: boolean } = {}) {
  await page.goto(server.setupUrl);
  await page.getByLabel('Organization name').fill('Contoso');
  if (options.allowAppPasswords) await page.getByLabel('Allow app passwords').check();
  await page.getByLabel('Your name').fill('Ada Lovelace');
  await page.getByLabel('Sign-in name').fill('ada@contoso.example');
  await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
  await page.getByLabel('Confirm password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page).toHaveURL(/\/signin\?setup=done$/);
}

export const ADMIN = { username: 'ada@contoso.example', password: 'correct horse battery' };

/** Signs in through the page: name, password, and (when given) the authenticator secret's code. */
export async function signIn(
  page: Page,
  server: LatchkeyServer,
  options: { username?: string; password?: string; totpSecret?: string; path?: string } = {},
) {
  await page.goto(server.baseURL + (options.path ?? '/signin'));
  await page.getByLabel('Sign-in name').fill(options.username ?? ADMIN.username);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password', { exact: true }).fill(options.password ?? ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (options.totpSecret) {
    await expect(page.getByRole('heading', { name: 'Enter code' })).toBeVisible();
    // The next step's code: the current one may have been used already (codes are single-use).
    await page.getByLabel('Code', { exact: true }).fill(totp(options.totpSecret, Date.now() / 1000 + 30));
    await page.getByRole('button', { name: 'Verify' }).click();
  }
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, computed independently of the server. */
export function totp(base32Secret: string, unixSeconds = Date.now() / 1000): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of base32Secret.replace(/\s+/g, '').toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  }
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', Buffer.from(bytes)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 1_000_000).padStart(6, '0');
}

/** Another website (another port is another origin) serving one HTML page. */
export async function startOtherSite(html: string): Promise<{ origin: string; close: () => void }> {
  const site = createHttpServer((_, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(html);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const address = site.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { origin: `http://127.0.0.1:${port}`, close: () => site.close() };
}

/** Runs `latchkey admin ...` on the test server's database, as an administrator would. */
export function latchkeyAdmin(server: LatchkeyServer, ...args: string[]): string {
  return execFileSync(path.join(root, 'target', 'release', 'latchkey'), ['admin', ...args], {
    env: { ...process.env, LATCHKEY_DATABASE_URL: server.databaseUrl, LATCHKEY_LOG: 'warn' },
    encoding: 'utf8',
  });
}

/** Adds a person (not an administrator) with `latchkey admin user add`. */
export function addPerson(server: LatchkeyServer, username: string, password: string, name = 'Grace Hopper') {
  execFileSync(path.join(root, 'target', 'release', 'latchkey'), ['admin', 'user', 'add', username, '--name', name], {
    env: { ...process.env, LATCHKEY_DATABASE_URL: server.databaseUrl, LATCHKEY_LOG: 'warn' },
    input: password + '\n',
    encoding: 'utf8',
  });
}

/** The rows of the person's authenticator apps on Security info. */
export function authenticatorRows(page: Page) {
  return page
    .getByRole('list', { name: 'Your sign-in methods' })
    .getByRole('listitem')
    .filter({ hasText: 'Authenticator app:' });
}

/** Adds an authenticator app through Security info; returns its secret. */
/** Add method > Authenticator app, on the Security info page shown: its dialog, and a reader
 *  of the secret key the dialog shows now. */
export async function startAddingAuthenticator(page: Page) {
  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('authenticator');
  await chooser.getByRole('button', { name: 'Add' }).click();
  const enroll = page.getByRole('dialog', { name: 'Authenticator app' });
  const secretKey = async () => ((await enroll.locator('#totp-secret').textContent()) ?? '').replace(/\s/g, '');
  return { enroll, secretKey };
}

export async function addAuthenticator(page: Page, server: LatchkeyServer): Promise<string> {
  await page.goto(server.baseURL + '/security-info');
  const { enroll, secretKey } = await startAddingAuthenticator(page);
  const secret = await secretKey();
  await enroll.getByLabel('Code', { exact: true }).fill(totp(secret));
  await enroll.getByRole('button', { name: 'Next' }).click();
  await expect(enroll).toBeHidden();
  await skipRecoveryCodes(page);
  await expect(authenticatorRows(page).first()).toBeVisible();
  return secret;
}

/** After the first second factor, Security info goes on to recovery codes: leaves them for
 *  later ("Cancel"), as the tests that are not about them do. */
export async function skipRecoveryCodes(page: Page) {
  const codes = page.getByRole('dialog', { name: 'Recovery codes' });
  await expect(codes.getByText('Get them now and keep them somewhere safe')).toBeVisible();
  await codes.getByRole('link', { name: 'Cancel' }).click();
  await expect(codes).toBeHidden();
}

/**
 * A page of a browser that runs no JavaScript, as a page is before its WebAssembly has loaded,
 * signed in as `signedInAs` is (its cookies), and at `path`.
 */
export async function pageWithoutScripts(
  browser: import('@playwright/test').Browser,
  server: LatchkeyServer,
  path: string,
  signedInAs?: Page,
): Promise<Page> {
  const storageState = signedInAs ? await signedInAs.context().storageState() : undefined;
  const context = await browser.newContext({ javaScriptEnabled: false, storageState });
  const plain = await context.newPage();
  await plain.goto(server.baseURL + path);
  return plain;
}

/** Waits until the WebAssembly has hydrated the page (the app sets a performance mark). */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => performance.getEntriesByName('hydrated').length > 0);
}

export const APP_PASSWORD = /^[a-z]{4} [a-z]{4} [a-z]{4} [a-z]{4}$/;

/** Sets up the organization (app passwords allowed), signs in and adds an authenticator app. */
export async function readyUser(page: Page, server: LatchkeyServer) {
  await completeSetup(page, server, { allowAppPasswords: true });
  await signIn(page, server);
  await expect(page).toHaveURL(server.baseURL + '/');
  return addAuthenticator(page, server);
}

/** Records the server-function calls and documents the page requests from now on (but the
 * first-sign-in poll; the browser's own favicon checks are not the app's). */
export function recordRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    const call = path.startsWith('/api/') && path !== '/api/app_password_first_sign_in';
    if (call || request.resourceType() === 'document') seen.push(`${request.method()} ${path} ${request.resourceType()}`);
  });
  return seen;
}

/** Opens Add method > App password on Security info; returns its dialog. */
export async function openAppPasswordDialog(page: Page) {
  await page.getByRole('button', { name: 'Add method' }).click();
  const chooser = page.getByRole('dialog', { name: 'Add a method' });
  await chooser.getByLabel('Which method would you like to add?').selectOption('app_password');
  await chooser.getByRole('button', { name: 'Add' }).click();
  return page.getByRole('dialog', { name: 'App password' });
}

/** Creates an app password named `name` (of `kind`, as the select words it) through Security
 *  info and closes its dialog; returns the password. */
export async function newAppPassword(page: Page, name: string, kind?: string): Promise<string> {
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
export function lastUse(page: Page, name: string) {
  return page
    .getByRole('list', { name: 'Your app passwords' })
    .getByRole('listitem')
    .filter({ hasText: name })
    .locator('.method-detail');
}

export { expect };

/** Runs SQL on the test server's SQLite file (Python's sqlite3), as an outside change would. */
export function sql(databaseUrl: string, statement: string) {
  const file = databaseUrl.replace('sqlite://', '');
  execFileSync('python3', ['-c', `import sqlite3; c = sqlite3.connect(${JSON.stringify(file)}); c.execute(${JSON.stringify(statement)}); c.commit()`]);
}

/** These start system daemons on loopback: once (desktop project) is enough. Outside CI a
 *  machine without the Debian package skips the test; in CI a missing package fails it. */
export function needs(program: string) {
  test.skip(test.info().project.name !== 'desktop', 'the daemons are started once, by the desktop project');
  if (process.env.CI !== 'true') {
    test.skip(!existsSync(program), `${program} is missing: scripts/setup-tools.sh --test installs it`);
  }
}

export async function waitForPort(port: number, daemon: ChildProcess, log: () => string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (daemon.exitCode !== null) throw new Error(`daemon exited (${daemon.exitCode}):\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}:\n${log()}`);
}

export async function stopDaemon(daemon: ChildProcess) {
  if (daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
}

/** Debian's nginx in the foreground on loopback with `server` (a server block, which may use
 *  `dir`) inside a private configuration; `stop` ends it and removes its directory. */
export function startNginx(dir: string, server: string) {
  const config = path.join(dir, 'nginx.conf');
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
${server}
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

/** Dovecot on loopback checking logins through `latchkey checkpassword`: IMAP on `imapPort`,
 *  and when given, its authentication service for Postfix (SASL) and LMTP delivery into
 *  maildirs under `mail`. */
export function startDovecot(server: LatchkeyServer, ports: { imapPort: number; authPort?: number; lmtpPort?: number }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-dovecot-'));
  chmodSync(dir, 0o755);
  const mail = path.join(dir, 'mail');
  mkdirSync(mail);
  chmodSync(mail, 0o777);
  const config = path.join(dir, 'dovecot.conf');
  writeFileSync(config, `
protocols = imap${ports.lmtpPort ? ' lmtp' : ''}
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = checkpassword
  args = ${path.join(root, 'target', 'release', 'latchkey')} checkpassword --server ${server.baseURL}
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=${mail}/%u allow_all_users=yes
}
mail_location = maildir:${mail}/%u
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
${ports.authPort ? `service auth {
  inet_listener {
    address = 127.0.0.1
    port = ${ports.authPort}
  }
}` : ''}
${ports.lmtpPort ? `service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${ports.lmtpPort}
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

/** curl as an IMAP client: its exit code (0 signed in, 67 refused). */
export function imapLogin(port: number, user: string, password: string): number {
  const result = spawnSync('curl', ['-s', '--max-time', '20', `imap://127.0.0.1:${port}/`, '--user', `${user}:${password}`], {
    encoding: 'utf8',
  });
  return result.status ?? -1;
}

/** Debian's Postfix in the foreground on loopback: SMTP on `smtpPort`, relaying mail for
 *  contoso.example to Dovecot's LMTP on `lmtpPort`. `who` is the main.cf lines saying whom it
 *  relays for (SMTP AUTH through Dovecot, or nginx's XCLIENT): SASL is on, nothing else is. */
export function startPostfix(ports: { smtpPort: number; lmtpPort: number }, who: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-postfix-'));
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'conf');
  mkdirSync(conf);
  mkdirSync(path.join(dir, 'queue'));
  mkdirSync(path.join(dir, 'data'));
  execFileSync('chown', ['postfix', path.join(dir, 'data')]);
  // What a private instance needs (its own queue, log and loopback address, no local
  // delivery, no TLS), then the caller's lines.
  writeFileSync(path.join(conf, 'main.cf'), `
compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.contoso.example
mydestination =
alias_maps =
alias_database =
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
relay_domains = contoso.example
relay_recipient_maps =
relay_transport = lmtp:inet:127.0.0.1:${ports.lmtpPort}
${who}
`);
  const services = [
    'pickup unix n - n 60 1 pickup', 'cleanup unix n - n - 0 cleanup', 'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite', 'bounce unix - - n - 0 bounce', 'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce', 'verify unix - - n - 1 verify', 'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap', 'smtp unix - - n - - smtp', 'relay unix - - n - - smtp',
    'showq unix n - n - - showq', 'error unix - - n - - error', 'retry unix - - n - - error',
    'discard unix - - n - - discard', 'lmtp unix - - n - - lmtp', 'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache', 'postlog unix-dgram n - n - 1 postlogd',
  ];
  writeFileSync(path.join(conf, 'master.cf'), [`${ports.smtpPort} inet n - n - - smtpd`, ...services].join('\n') + '\n');
  execFileSync('/usr/sbin/postfix', ['-c', conf, 'set-permissions'], { stdio: 'ignore' });
  const postfix = spawn('/usr/sbin/postfix', ['-c', conf, 'start-fg'], { stdio: 'ignore' });
  const log = () => (existsSync(`${dir}/maillog`) ? readFileSync(`${dir}/maillog`, 'utf8') : '');
  const stop = async () => {
    spawnSync('/usr/sbin/postfix', ['-c', conf, 'stop']);
    await stopDaemon(postfix);
    rmSync(dir, { recursive: true, force: true });
  };
  return { postfix, log, stop };
}


/** A fresh PostgreSQL database on the machine's server (127.0.0.1:5432, trust), for tests of
 *  several instances on one database; `drop` removes it. */
export function createPostgresDatabase(): { url: string; drop: () => void } {
  const admin = process.env.LATCHKEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const name = `latchkey_e2e_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  execFileSync('psql', [admin, '-q', '-c', `CREATE DATABASE ${name}`]);
  const url = admin.replace(/\/[^/]*$/, `/${name}`);
  const drop = () => {
    execFileSync('psql', [admin, '-q', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  };
  return { url, drop };
}

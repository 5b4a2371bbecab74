// "Set up an iPhone, iPad or Mac": an administrator enters the mail settings in the console, a
// person creates an app password and downloads the Apple configuration profile from its dialog;
// the profile (an XML property list, read here by a small parser of our own) names the servers
// and the person, and its password signs in at /auth/basic. The QR code is there with a text
// alternative, and the dialog has no axe violations.
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { test, expect, readyUser, openAppPasswordDialog, APP_PASSWORD, hydrated } from './fixtures';

type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

/** Reads an XML property list of dicts, arrays, strings, integers and booleans. */
function parsePlist(xml: string): PlistValue {
  const tokens = xml.match(/<(dict|array)>|<\/(dict|array)>|<(dict|array)\/>|<key>[^<]*<\/key>|<string>[^<]*<\/string>|<string\/>|<integer>[^<]*<\/integer>|<true\/>|<false\/>/g) ?? [];
  let at = 0;
  const unescape = (text: string) =>
    text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const inner = (token: string) => unescape(token.replace(/^<[^>]+>/, '').replace(/<\/[^>]+>$/, ''));
  function value(): PlistValue {
    const token = tokens[at++];
    if (token === '<dict/>') return {};
    if (token === '<array/>') return [];
    if (token === '<dict>') {
      const dict: { [key: string]: PlistValue } = {};
      while (tokens[at] !== '</dict>') {
        const key = tokens[at++];
        if (!key?.startsWith('<key>')) throw new Error(`expected a key, found ${key}`);
        dict[inner(key)] = value();
      }
      at++;
      return dict;
    }
    if (token === '<array>') {
      const array: PlistValue[] = [];
      while (tokens[at] !== '</array>') array.push(value());
      at++;
      return array;
    }
    if (token === '<true/>') return true;
    if (token === '<false/>') return false;
    if (token === '<string/>') return '';
    if (token?.startsWith('<string>')) return inner(token);
    if (token?.startsWith('<integer>')) return Number(inner(token));
    throw new Error(`unexpected ${token}`);
  }
  return value();
}

test('an administrator sets the mail settings and a person downloads a working profile', async ({ page, server }) => {
  test.setTimeout(90_000);
  await readyUser(page, server);

  // The console: a bad port is refused at its field, then the settings are saved.
  await page.goto(server.baseURL + '/admin');
  await hydrated(page);
  const settings = page.locator('section', { has: page.getByRole('heading', { name: 'Mail app settings' }) });
  await settings.getByLabel('IMAP host name').fill('imap.contoso.example');
  await settings.getByLabel('IMAP port').fill('99999');
  await settings.getByLabel('SMTP host name').fill('smtp.contoso.example');
  await settings.getByLabel('SMTP port').fill('587');
  await settings.getByLabel('CalDAV address').fill('https://dav.contoso.example/cal/');
  await settings.getByRole('button', { name: 'Save mail app settings' }).click();
  await expect(settings.getByText('Enter the IMAP port as a number from 1 to 65535')).toBeVisible();
  await settings.getByLabel('IMAP port').fill('993');
  await settings.getByRole('button', { name: 'Save mail app settings' }).click();
  await expect(settings.getByText('Mail app settings saved.')).toBeVisible();
  await page.reload();
  await expect(settings.getByLabel('IMAP host name')).toHaveValue('imap.contoso.example');
  await expect(settings.getByLabel('SMTP port')).toHaveValue('587');

  // A new app password, and the profile downloaded from its dialog.
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('iPhone');
  await dialog.getByRole('button', { name: 'Next' }).click();
  const box = dialog.getByLabel('Password', { exact: true });
  await expect(box).toHaveValue(APP_PASSWORD);
  const secret = (await box.inputValue()).replace(/ /g, '');

  const qr = dialog.getByRole('img', { name: /QR code/ });
  await expect(qr).toBeVisible();
  await expect(qr.locator('svg')).toHaveCount(1);
  const axe = await new AxeBuilder({ page }).include('dialog').analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    dialog.getByRole('button', { name: 'Set up an iPhone, iPad or Mac' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('latchkey-iphone.mobileconfig');
  const file = await download.path();
  const profile = parsePlist(readFileSync(file, 'utf8')) as { [key: string]: PlistValue };
  expect(profile.PayloadType).toBe('Configuration');
  const payloads = profile.PayloadContent as { [key: string]: PlistValue }[];
  expect(payloads.map((p) => p.PayloadType).sort()).toEqual(['com.apple.caldav.account', 'com.apple.mail.managed']);
  const mail = payloads.find((p) => p.PayloadType === 'com.apple.mail.managed')!;
  expect(mail.IncomingMailServerHostName).toBe('imap.contoso.example');
  expect(mail.IncomingMailServerPortNumber).toBe(993);
  expect(mail.IncomingMailServerUseSSL).toBe(true);
  expect(mail.OutgoingMailServerHostName).toBe('smtp.contoso.example');
  expect(mail.OutgoingMailServerPortNumber).toBe(587);
  expect(mail.IncomingMailServerUsername).toBe('ada@contoso.example');
  expect(mail.OutgoingMailServerUsername).toBe('ada@contoso.example');
  expect(mail.IncomingPassword).toBe(secret);
  expect(mail.OutgoingPassword).toBe(secret);
  const calendar = payloads.find((p) => p.PayloadType === 'com.apple.caldav.account')!;
  expect(calendar.CalDAVPrincipalURL).toBe('https://dav.contoso.example/cal/');

  // The dialog is still open, and the password from the profile signs in as a mail app would.
  await expect(box).toHaveValue(APP_PASSWORD);
  const basic = Buffer.from(`${mail.IncomingMailServerUsername}:${mail.IncomingPassword}`).toString('base64');
  const check = await fetch(`${server.baseURL}/auth/basic`, { headers: { Authorization: `Basic ${basic}` } });
  expect(check.status).toBe(204);
});

test('without mail settings the dialog offers no profile', async ({ page, server }) => {
  await readyUser(page, server);
  await page.goto(server.baseURL + '/security-info');
  await hydrated(page);
  const dialog = await openAppPasswordDialog(page);
  await dialog.getByLabel('Name').fill('Thunderbird');
  await dialog.getByRole('button', { name: 'Next' }).click();
  await expect(dialog.getByLabel('Password', { exact: true })).toHaveValue(APP_PASSWORD);
  await expect(dialog.getByText('Waiting for the first sign-in...')).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Set up an iPhone, iPad or Mac' })).toHaveCount(0);
  await expect(dialog.getByRole('img', { name: /QR code/ })).toHaveCount(0);
});

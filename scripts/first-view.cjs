// Measures what a first view of a Latchkey page costs in Debian's Chromium: the bytes
// transferred (HTML, CSS, JavaScript and every WebAssembly chunk fetched until the app has
// hydrated and settled), and the time from navigation to the app's `hydrated` performance mark
// on a throttled phone (1.6 Mbps down, 150 ms round trip, 4x slower CPU).
// Usage: node scripts/first-view.cjs BASE_URL SESSION_TOKEN
const path = require('node:path');
const { chromium } = require(path.join(__dirname, '..', 'end2end', 'node_modules', '@playwright/test'));

const [base, session] = process.argv.slice(2);
const pages = [['/signin', null], ['/security-info', session]];

async function visit(browser, page, cookie, throttled) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  if (cookie) await context.addCookies([{ name: 'latchkey_session', value: cookie, url: base }]);
  const tab = await context.newPage();
  const cdp = await context.newCDPSession(tab);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const urls = new Map();
  const bytes = { html: 0, css: 0, js: 0, wasm: 0, other: 0 };
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, new URL(e.request.url).pathname));
  cdp.on('Network.loadingFinished', (e) => {
    const url = urls.get(e.requestId) ?? '';
    const kind = url.endsWith('.wasm') ? 'wasm' : url.endsWith('.js') ? 'js' : url.endsWith('.css') ? 'css'
      : url.startsWith('/pkg/') || url.includes('.') ? 'other' : 'html';
    bytes[kind] += e.encodedDataLength;
  });
  if (throttled) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  }
  await tab.goto(base + page);
  await tab.waitForFunction(() => performance.getEntriesByName('hydrated').length > 0, null, { timeout: 120_000 });
  const hydratedMs = await tab.evaluate(() => performance.getEntriesByName('hydrated')[0].startTime);
  await tab.waitForTimeout(throttled ? 3000 : 1000); // chunks fetched right after hydrating count too
  await context.close();
  return { bytes, hydratedMs };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic'],
  });
  console.log(['first view (transferred)', 'HTML', 'CSS', 'JS', 'WASM', 'other', 'total', 'hydrated (throttled)'].map((h, i) => (i ? h.padStart(i === 7 ? 22 : 9) : h.padEnd(26))).join(''));
  for (const [page, cookie] of pages) {
    const { bytes } = await visit(browser, page, cookie, false);
    const { hydratedMs } = await visit(browser, page, cookie, true);
    const total = Object.values(bytes).reduce((a, b) => a + b, 0);
    const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(9);
    console.log(page.padEnd(26) + [bytes.html, bytes.css, bytes.js, bytes.wasm, bytes.other, total].map(kb).join('')
      + `${(hydratedMs / 1000).toFixed(2)} s`.padStart(22) + '   (targets: 200 KB, 2.5 s)');
  }
  await browser.close();
})();

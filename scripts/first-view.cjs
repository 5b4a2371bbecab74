// Measures what a first view of a Latchkey page costs in Debian's Chromium: the bytes
// transferred (HTML, CSS, JavaScript and every WebAssembly chunk requested until the app has
// hydrated), the time from navigation to the app's `hydrated` performance mark on a throttled
// phone (1.6 Mbps down, 150 ms round trip, 4x slower CPU), and, apart, what the app prefetches
// when idle after hydrating (the other pages' chunks).
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
  const finished = [];
  const kinds = ['html', 'css', 'js', 'wasm', 'other'];
  const bytes = Object.fromEntries(kinds.map((k) => [k, 0]));
  const prefetched = Object.fromEntries(kinds.map((k) => [k, 0]));
  // Each request is classified by when the browser started it (its wall time) against the
  // moment of the `hydrated` mark: the idle prefetch can start within a millisecond of it.
  cdp.on('Network.requestWillBeSent', (e) => {
    urls.set(e.requestId, { path: new URL(e.request.url).pathname, startedMs: e.wallTime * 1000 });
  });
  const done = (e, length) => {
    const { path: url, startedMs } = urls.get(e.requestId) ?? { path: '', startedMs: Infinity };
    const kind = url.endsWith('.wasm') ? 'wasm' : url.endsWith('.js') ? 'js' : url.endsWith('.css') ? 'css'
      : url.startsWith('/pkg/') || url.includes('.') ? 'other' : 'html';
    finished.push({ kind, length, startedMs });
    urls.delete(e.requestId);
  };
  cdp.on('Network.loadingFinished', (e) => done(e, e.encodedDataLength));
  cdp.on('Network.loadingFailed', (e) => done(e, 0));
  if (throttled) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  }
  await tab.goto(base + page);
  await tab.waitForFunction(() => performance.getEntriesByName('hydrated').length > 0, null, { timeout: 120_000, polling: 10 });
  const { hydratedMs, hydratedAtMs } = await tab.evaluate(() => {
    const mark = performance.getEntriesByName('hydrated')[0].startTime;
    return { hydratedMs: mark, hydratedAtMs: performance.timeOrigin + mark };
  });
  await tab.waitForTimeout(throttled ? 5000 : 2000); // the idle prefetch
  while (urls.size > 0) await tab.waitForTimeout(50);
  for (const { kind, length, startedMs } of finished) {
    (startedMs <= hydratedAtMs ? bytes : prefetched)[kind] += length;
  }
  await context.close();
  return { bytes, prefetched, hydratedMs };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic'],
  });
  const sum = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`.padStart(9);
  console.log(['first view (transferred)', 'HTML', 'CSS', 'JS', 'WASM', 'other', 'total', 'hydrated (throttled)', 'idle prefetch']
    .map((h, i) => (i ? h.padStart(i === 7 ? 22 : i === 8 ? 15 : 9) : h.padEnd(26))).join(''));
  for (const [page, cookie] of pages) {
    const { bytes, prefetched } = await visit(browser, page, cookie, false);
    const { hydratedMs } = await visit(browser, page, cookie, true);
    console.log(page.padEnd(26) + [bytes.html, bytes.css, bytes.js, bytes.wasm, bytes.other, sum(bytes)].map(kb).join('')
      + `${(hydratedMs / 1000).toFixed(2)} s`.padStart(22) + kb(sum(prefetched)).padStart(15) + '   (targets: 200 KB, 2.5 s)');
  }
  await browser.close();
})();

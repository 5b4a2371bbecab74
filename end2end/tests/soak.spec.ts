// Soak (issue 15): a mixed load at a fixed rate against the release server, below its hashing
// capacity: Security info page views, app-password checks, app-password creates and deletes,
// and sign-ins. Every response must be an answer (no 5xx, no dropped connection), latency must
// not drift upwards and memory must stay flat; figures are printed per slice of the run.
// The test command runs it for SOAK_SECONDS=20, alone after all other tests (project `soak`);
// `scripts/soak.sh` runs it for five minutes.
import { test, expect, completeSetup, signIn, addAuthenticator, startServer, ADMIN, type StartedServer } from './fixtures';
import { readFileSync } from 'node:fs';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 20);
/** Requests per second, spread evenly; sign-ins are paced apart (see below). */
const RATE = Number(process.env.SOAK_RATE ?? 100);
const SLICES = 10;

type Sample = { at: number; ms: number; status: number; kind: string };

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function residentMegabytes(pid: number): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return match ? Number(match[1]) / 1024 : 0;
}

test('a steady mixed load gets no 5xx, stable latency and flat memory', async ({ page }) => {
  // Its own project (playwright.config.ts), which runs after all the others.
  test.setTimeout(SECONDS * 1000 + 120_000);
  const running: StartedServer = await startServer({ LATCHKEY_LOG: 'warn' });
  const { server, child } = running;
  try {
    await completeSetup(page, server, { allowAppPasswords: true });
    await signIn(page, server);
    await expect(page).toHaveURL(server.baseURL + '/');
    await addAuthenticator(page, server);
    // The load goes through Node's own fetch (undici, keep-alive), not Playwright's request
    // API: that one keeps every response body until its context ends, and over five minutes
    // the load generator itself slowed down (fewer requests and rising latency per slice,
    // with the server's memory and CPU flat).
    const cookie = (await page.context().cookies(server.baseURL)).map((c) => `${c.name}=${c.value}`).join('; ');
    const send = async (path: string, init: { method?: string; headers?: Record<string, string>; form?: Record<string, string> } = {}) => {
      const response = await fetch(server.baseURL + path, {
        method: init.method ?? 'GET',
        headers: init.headers,
        body: init.form ? new URLSearchParams(init.form) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
      return { status: response.status, body: await response.text() };
    };
    const post = (name: string, form: Record<string, string>, withSession = true) =>
      send(`/api/${name}`, {
        method: 'POST',
        form,
        headers: { Accept: 'application/json', Origin: server.baseURL, ...(withSession ? { Cookie: cookie } : {}) },
      });
    const created = await post('create_app_password', { name: 'Mail' });
    expect(created.status, created.body).toBe(200);
    const mailApp = JSON.parse(created.body);
    const basic = 'Basic ' + Buffer.from(`${ADMIN.username}:${mailApp.password}`).toString('base64');
    const live: number[] = [];

    // One operation per tick, chosen in turn: 4 page views, 4 checks, 1 create or delete,
    // per 9 ticks; a sign-in (argon2) every 3 s, under the 30 a minute one address may try.
    const operations: Array<[string, () => Promise<number>]> = [
      ['page', async () => (await send('/security-info', { headers: { Cookie: cookie } })).status],
      ['check', async () => (await send('/auth/basic', { headers: { Authorization: basic } })).status],
      ['change', async () => {
        if (live.length < 10) {
          const response = await post('create_app_password', { name: `Soak ${Date.now()}` });
          if (response.status === 200) live.push(JSON.parse(response.body).id);
          return response.status;
        }
        return (await post('delete_app_password', { id: String(live.shift()) })).status;
      }],
    ];
    const pattern = [0, 1, 0, 1, 0, 1, 0, 1, 2];
    const samples: Sample[] = [];
    const failures: string[] = [];
    const memory: Array<{ at: number; mb: number }> = [];
    const started = Date.now();
    const end = started + SECONDS * 1000;
    const pending: Promise<void>[] = [];
    const run = (kind: string, operation: () => Promise<number>) => {
      const at = Date.now();
      pending.push(
        operation()
          .then((status) => void samples.push({ at: at - started, ms: Date.now() - at, status, kind }))
          .catch((error) => void failures.push(`${kind}: ${error}`)),
      );
    };
    const sampler = setInterval(() => memory.push({ at: Date.now() - started, mb: residentMegabytes(child.pid!) }), 1000);
    let tick = 0;
    let nextSignIn = started;
    while (Date.now() < end) {
      const [kind, operation] = operations[pattern[tick % pattern.length]];
      run(kind, operation);
      if (Date.now() >= nextSignIn) {
        nextSignIn += 3000;
        // Without the session's cookie: a sign-in ends the session its browser had.
        run('sign-in', async () =>
          (await post('sign_in', { username: ADMIN.username, password: ADMIN.password }, false)).status);
      }
      tick++;
      const due = started + (tick * 1000) / RATE;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
    await Promise.all(pending);
    clearInterval(sampler);

    const slice = (SECONDS * 1000) / SLICES;
    const rows = [];
    for (let i = 0; i < SLICES; i++) {
      const inSlice = samples.filter((s) => s.at >= i * slice && s.at < (i + 1) * slice);
      const rss = memory.filter((m) => m.at < (i + 1) * slice).pop()?.mb ?? 0;
      rows.push({
        slice: i + 1,
        started: inSlice.filter((s) => s.kind !== 'sign-in').length,
        requests: inSlice.length,
        p50: percentile(inSlice.map((s) => s.ms), 50),
        p99: percentile(inSlice.map((s) => s.ms), 99),
        rss: Math.round(rss * 10) / 10,
      });
    }
    const byStatus: Record<string, number> = {};
    for (const s of samples) byStatus[`${s.kind} ${s.status}`] = (byStatus[`${s.kind} ${s.status}`] ?? 0) + 1;
    console.log(`soak: ${SECONDS} s at ${RATE}/s (+ a sign-in every 3 s); ${samples.length} answers`);
    console.log(`| slice | requests | p50 ms | p99 ms | RSS MB |\n|---:|---:|---:|---:|---:|\n` +
      rows.map((r) => `| ${r.slice} | ${r.requests} | ${r.p50} | ${r.p99} | ${r.rss} |`).join('\n'));
    console.log(`answers by kind and status: ${JSON.stringify(byStatus)}`);

    expect(failures, 'every request answered').toEqual([]);
    // The load was what it says: every slice started at least 90 % of its share of requests
    // (else the load generator, not the server, set the pace and the figures mean nothing).
    const planned = (RATE * SECONDS) / SLICES;
    const perSlice = rows.map((r) => r.started);
    expect(Math.min(...perSlice), `requests started per slice: ${perSlice.join(', ')} (planned ${planned})`).toBeGreaterThanOrEqual(0.9 * planned);
    expect(samples.filter((s) => s.status >= 500), 'no 5xx').toEqual([]);
    expect(samples.filter((s) => s.kind !== 'sign-in' && s.status >= 400), 'no refusals but sign-in steps').toEqual([]);
    // Memory flat: after the first fifth (caches and pools filling), RSS grows by less than
    // 32 MB to the end.
    const warm = rows[1].rss;
    const last = rows[SLICES - 1].rss;
    expect(last - warm, `RSS ${warm} MB after warm-up, ${last} MB at the end`).toBeLessThan(32);
    // Latency stable: the last fifth's p99 is no worse than three times the second fifth's
    // (plus 25 ms for a machine shared with other tests).
    const p99 = (from: number, to: number) =>
      percentile(samples.filter((s) => s.at >= from * slice && s.at < to * slice).map((s) => s.ms), 99);
    const early = p99(2, 4);
    const late = p99(SLICES - 2, SLICES);
    expect(late, `p99 ${early} ms early, ${late} ms late`).toBeLessThanOrEqual(early * 3 + 25);
  } finally {
    await running.stop();
  }
});

// Metrics through a real Prometheus (Debian's `prometheus`), no browser: the release server runs
// with `LATCHKEY_METRICS_ADDR` on a port of its own, Prometheus scrapes it every second, app
// clients make password checks, and Prometheus' query API then returns the check counter and
// the request counter with their labels. The site's own port does not serve the metrics.
import { test, expect } from '@playwright/test';
import { freePort, needs, startServer, stopDaemon, waitForPort } from './fixtures';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Prometheus on loopback scraping `target` (host:port) every second, with its data in a
 *  temporary folder; `stop` ends it and removes the folder. */
function startPrometheus(port: number, target: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: latchkey
    static_configs:
      - targets: ['${target}']
`);
  const logFile = path.join(dir, 'prometheus.log');
  let output = '';
  const prometheus = spawn('/usr/bin/prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prometheus.stdout?.on('data', (chunk) => (output += chunk.toString()));
  prometheus.stderr?.on('data', (chunk) => (output += chunk.toString()));
  const log = () => output + (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const stop = async () => {
    await stopDaemon(prometheus);
    rmSync(dir, { recursive: true, force: true });
  };
  return { prometheus, log, stop };
}

/** The value of an instant query's single result, or `undefined` while there is none. */
async function query(prometheusPort: number, promql: string): Promise<number | undefined> {
  const url = `http://127.0.0.1:${prometheusPort}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const answer = await fetch(url).then((r) => r.json(), () => undefined);
  const result = answer?.status === 'success' ? answer.data?.result : undefined;
  if (!Array.isArray(result) || result.length !== 1) return undefined;
  return Number(result[0].value[1]);
}

const basic = (user: string, password: string) =>
  'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

test('Prometheus scrapes the metrics listener and its query API counts the checks', async () => {
  needs('/usr/bin/prometheus');
  test.setTimeout(90_000);
  const metricsPort = await freePort();
  const { server, stop } = await startServer({ LATCHKEY_METRICS_ADDR: `127.0.0.1:${metricsPort}` });
  const prometheusPort = await freePort();
  const { prometheus, log, stop: stopPrometheus } = startPrometheus(prometheusPort, `127.0.0.1:${metricsPort}`);
  try {
    // The listener answers in Prometheus' text format; the site's own port has no metrics.
    const direct = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-type')).toContain('text/plain');
    expect((await fetch(`${server.baseURL}/metrics`)).status).toBe(404);

    await waitForPort(prometheusPort, prometheus, log);
    await expect
      .poll(() => fetch(`http://127.0.0.1:${prometheusPort}/-/ready`).then((r) => r.status, () => 0), { timeout: 20_000 })
      .toBe(200);
    // Prometheus reaches the target.
    await expect
      .poll(() => query(prometheusPort, 'up{job="latchkey"}'), { timeout: 20_000, message: log() })
      .toBe(1);

    // Three checks by a mail server (Dovecot's checkpassword names the protocol as its
    // User-Agent), none with a password that exists: refused, and counted.
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.baseURL}/auth/basic`, {
        headers: { Authorization: basic('ada@contoso.example', 'abcd efgh ijkl mnop'), 'User-Agent': 'IMAP' },
      });
      expect(response.status).toBe(401);
    }

    await expect
      .poll(() => query(prometheusPort, 'sum(latchkey_app_password_checks_total{outcome="refused",protocol="imap"})'), {
        timeout: 30_000,
        message: log(),
      })
      .toBe(3);
    expect(await query(prometheusPort, 'sum(latchkey_http_requests_total{route="auth_check",status="4xx"})')).toBe(3);
    // Histograms have buckets Prometheus can take quantiles of.
    expect(await query(prometheusPort, 'sum(latchkey_app_password_check_seconds_count{outcome="refused"})')).toBe(3);
    expect(await query(prometheusPort, 'count(latchkey_app_password_check_seconds_bucket{outcome="refused"})')).toBeGreaterThan(5);
    // Gauges read at the scrape.
    expect(await query(prometheusPort, 'latchkey_password_hashing_threads')).toBeGreaterThanOrEqual(1);
    expect(await query(prometheusPort, 'latchkey_sessions_active')).toBe(0);
  } finally {
    await stopPrometheus();
    await stop();
  }
});

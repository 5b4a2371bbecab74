// Crash safety (issue 15): a stream of app-password creates and deletes against the release
// server, which is killed with SIGKILL at a random moment, ten times, and started again on the
// same database. Every create the server acknowledged is still there, every delete it
// acknowledged is still gone; what was in flight at the kill may have gone either way. On
// SQLite (WAL, synchronous=FULL) and on PostgreSQL.
import {
  test, expect, completeSetup, signIn, addAuthenticator, startServer, createPostgresDatabase, type StartedServer,
} from './fixtures';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIRequestContext } from '@playwright/test';

const KILLS = 10;
const WORKERS = 4;

/** Calls a server function as the hydrated page does; the parsed answer, or `undefined` when
 *  no answer came back (the server died meanwhile) or it was a refusal. */
async function call(request: APIRequestContext, base: string, name: string, form: Record<string, string>) {
  try {
    const response = await request.post(`${base}/api/${name}`, {
      form,
      headers: { Accept: 'application/json', Origin: base },
      timeout: 10_000,
    });
    return response.ok() ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`acknowledged creates and deletes survive kill -9 (${kind})`, async ({ page }) => {
    test.skip(test.info().project.name !== 'desktop', 'no browser involved: once is enough');
    test.setTimeout(240_000);
    const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-crash-'));
    const database = kind === 'postgres'
      ? createPostgresDatabase()
      : { url: `sqlite://${path.join(dir, 'latchkey.db')}`, drop: () => {} };
    const environment = {
      LATCHKEY_DATABASE_URL: database.url,
      LATCHKEY_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
      LATCHKEY_LOG: 'warn',
    };
    let running: StartedServer = await startServer(environment);
    try {
      await completeSetup(page, running.server, { allowAppPasswords: true });
      await signIn(page, running.server);
      await expect(page).toHaveURL(running.server.baseURL + '/');
      await addAuthenticator(page, running.server);

      const created = new Set<number>(); // acknowledged creates
      const deleted = new Set<number>(); // acknowledged deletes
      const uncertain = new Set<number>(); // a delete was sent but not acknowledged
      let live: number[] = [];
      let inFlightAtKills = 0;
      let serial = 0;
      for (let round = 0; round < KILLS; round++) {
        const base = running.server.baseURL;
        let stopped = false;
        const worker = async () => {
          while (!stopped) {
            if (live.length < 20 || Math.random() < 0.5) {
              const answer = await call(page.request, base, 'create_app_password', { name: `Device ${++serial}` });
              if (answer) {
                created.add(answer.id);
                live.push(answer.id);
              } else {
                inFlightAtKills++;
              }
            } else {
              const id = live.splice(Math.floor(Math.random() * live.length), 1)[0];
              const answer = await call(page.request, base, 'delete_app_password', { id: String(id) });
              if (answer === id) deleted.add(id);
              else uncertain.add(id);
            }
          }
        };
        const workers = Array.from({ length: WORKERS }, worker);
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
        // No new calls from here; those on their way meet the kill.
        stopped = true;
        const exited = new Promise((r) => running.child.once('exit', r));
        running.child.kill('SIGKILL');
        await exited;
        await Promise.all(workers);
        await running.stop();

        running = await startServer(environment);
        const overview = await call(page.request, running.server.baseURL, 'get_app_passwords', {});
        expect(overview, running.server.log()).toBeDefined();
        const present = new Set<number>(overview.items.map((item: { id: number }) => item.id));
        for (const id of created) {
          if (!deleted.has(id) && !uncertain.has(id)) expect(present.has(id), `acknowledged create ${id} (round ${round})`).toBe(true);
        }
        for (const id of deleted) expect(present.has(id), `acknowledged delete ${id} (round ${round})`).toBe(false);
        live = [...present];
      }
      console.log(
        `${kind}: ${KILLS} kills; ${created.size} creates and ${deleted.size} deletes acknowledged and kept; ` +
          `${inFlightAtKills + uncertain.size} calls in flight at a kill`,
      );
      expect(created.size).toBeGreaterThan(KILLS * 5);
      expect(deleted.size).toBeGreaterThan(KILLS);
    } finally {
      await running.stop();
      database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

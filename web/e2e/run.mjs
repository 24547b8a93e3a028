// End-to-end tests: real headless Chromium (Debian's, driven by playwright-core) against a real
// all-in-one `dashi` on a temporary data folder and a free port.
//
//   node e2e/run.mjs [--dashi path/to/dashi] [--artifacts folder]
//
// Walks setup → add a SQLite data source → write and run a query → make a chart → save →
// reload and see it; checks that a refused run shows the server's message; scrolls a
// 1,000,000-row result to its end recording frame timing; saves a screenshot of each main page
// in light and dark. Writes `e2e-report.json` next to the screenshots.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const here = resolve(import.meta.dirname, '..');
const argument = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const dashiPath = resolve(argument('--dashi', process.env.DASHI_BIN ?? join(here, '..', 'target', 'debug', 'dashi')));
const artifacts = resolve(argument('--artifacts', join(here, '..', 'target', 'web-e2e')));
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const STEP_TIMEOUT = 60_000;

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function until(what, check, timeout = STEP_TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // Not ready yet; the deadline decides.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const results = [];
/** Saves what the browser showed when a test failed; set once the page exists. */
let captureFailure = async () => {};
async function test(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true, ms: Date.now() - started });
    console.log(`  ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false, ms: Date.now() - started, error: String(error?.stack ?? error) });
    await captureFailure(name).catch(() => {});
    console.log(`  FAIL ${name}\n${String(error?.stack ?? error).replace(/^/gm, '       ')}`);
    throw error;
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  expect(existsSync(dashiPath), `no dashi binary at ${dashiPath}: build it first (cargo build -p dashi)`);
  expect(existsSync(join(here, 'dist', 'index.html')), 'web/dist is missing: run npm run build first');
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'dashi-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(dashiPath, [], {
    env: { ...process.env, DASHI_DATA_DIR: join(scratch, 'data'), DASHI_BIND: `127.0.0.1:${port}`, DASHI_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let serverExit = null;
  server.on('exit', (code) => (serverExit = code));
  const profile = mkdtempSync(join(tmpdir(), 'dashi-e2e-chromium-'));
  let context;
  try {
    await until('dashi to answer /ping', async () => {
      if (serverExit !== null) throw new Error(`dashi exited with ${serverExit}`);
      return (await fetch(`${base}/ping`)).ok;
    });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browserPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 900 },
      baseURL: base,
    });
    context.setDefaultTimeout(STEP_TIMEOUT);
    const page = context.pages()[0] ?? (await context.newPage());
    captureFailure = (name) => page.screenshot({ path: join(artifacts, `failed-${name.replace(/[^a-z0-9]+/gi, '-')}.png`) });
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    const shoot = async (name) => {
      for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme });
        await page.screenshot({ path: join(artifacts, `${name}-${scheme}.png`) });
      }
      await page.emulateMedia({ colorScheme: 'light' });
    };
    // An empty file is a valid, empty SQLite database; the queries below need no tables.
    const sqlite = join(scratch, 'shop.sqlite');
    writeFileSync(sqlite, '');

    await test('setup creates the first admin and signs in', async () => {
      await page.goto('/');
      await page.getByRole('heading', { name: 'Welcome to Dashi' }).waitFor();
      await shoot('setup');
      await page.getByLabel('Your name').fill('Ada Admin');
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password (at least 6 characters)').fill('e2e-password');
      await page.getByLabel('Organization name').fill('Acme');
      await page.getByRole('button', { name: 'Set up' }).click();
      await page.getByRole('heading', { name: 'Queries', exact: true }).waitFor();
      await page.getByText('No queries yet').waitFor();
      await shoot('queries-empty');
    });

    await test('login shows the server message for a wrong password, then signs in', async () => {
      await page.goto('/logout');
      await page.goto('/queries');
      await page.getByRole('heading', { name: 'Log in to Dashi' }).waitFor();
      await shoot('login');
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('wrong-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      const alert = await page.getByRole('alert').textContent();
      expect(alert && alert.length > 3, `no login error shown (${alert})`);
      await page.getByLabel('Password').fill('e2e-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Queries', exact: true }).waitFor();
    });

    await test('an admin adds a SQLite data source and tests it', async () => {
      await page.getByRole('link', { name: 'Data sources' }).click();
      await page.getByText('No data sources yet').waitFor();
      await page.getByRole('link', { name: 'New data source' }).click();
      await page.getByLabel('Type').selectOption('sqlite');
      await page.getByLabel('Name').fill('shop');
      await page.getByLabel('Database Path').fill(sqlite);
      await shoot('data-source-form');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.getByText('Connection works.').waitFor();
      await page.goto('/data_sources');
      await page.getByRole('link', { name: 'shop' }).waitFor();
      await shoot('data-sources');
    });

    await test('a query is written, run, charted, saved, and seen again after reload', async () => {
      await page.goto('/queries/new');
      const editor = page.locator('.cm-content');
      await editor.click();
      await page.keyboard.type("select x as day, x * x as sales from (select 1 as x union all select 2 union all select 3 union all select 4)");
      await page.getByLabel('Query name').fill('Squares');
      await page.keyboard.press('Control+Enter');
      await until('the result', async () => (await page.getByTestId('row-count').textContent())?.includes('4 rows'));
      await page.getByRole('gridcell', { name: '16' }).waitFor();
      await page.keyboard.press('Control+s');
      await page.waitForURL(/\/queries\/\d+$/);
      await shoot('query-editor');
      await page.getByRole('button', { name: '+ Add visualization' }).click();
      const dialog = page.getByRole('dialog', { name: 'Visualization editor' });
      await dialog.getByLabel('Chart type').selectOption('line');
      await dialog.getByLabel('Visualization name').fill('Squares chart');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('tab', { name: 'Squares chart' }).waitFor();
      await page.getByTestId('chart').locator('canvas').first().waitFor();
      await page.reload();
      await page.getByRole('tab', { name: 'Squares chart' }).click();
      await page.getByTestId('chart').locator('canvas').first().waitFor();
      await shoot('chart');
      await page.getByRole('tab', { name: 'Table' }).click();
      await until('the saved result after reload', async () => (await page.getByTestId('row-count').textContent())?.includes('4 rows'));
    });

    await test('the embed code shows the visualization with the query key and no session', async () => {
      await page.getByText('Share').click();
      const embed = await page.getByLabel('Embed code').inputValue();
      const source = embed.match(/src="([^"]+)"/)?.[1];
      expect(source?.includes('/embed/query/') && source.includes('api_key='), `no embed link in ${embed}`);
      // A persistent context has one cookie jar: drop the session, then sign in again after.
      await context.clearCookies();
      const viewer = await context.newPage();
      await viewer.goto(source);
      await viewer.getByRole('heading', { name: 'Squares' }).waitFor();
      await viewer.locator('canvas, table').first().waitFor();
      await viewer.screenshot({ path: join(artifacts, 'embed-light.png') });
      await viewer.close();
      await page.goto('/queries');
      await page.getByRole('heading', { name: 'Log in to Dashi' }).waitFor();
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('e2e-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Queries', exact: true }).waitFor();
    });

    await test('the queries list finds the saved query', async () => {
      await page.goto('/queries');
      await page.getByRole('searchbox', { name: 'Search queries' }).last().fill('Squares');
      await page.keyboard.press('Enter');
      await page.getByRole('link', { name: 'Squares' }).waitFor();
      await shoot('queries');
    });

    await test('a failing run shows the data source error', async () => {
      await page.goto('/queries/new');
      await page.locator('.cm-content').click();
      await page.keyboard.type('select * from no_such_table');
      await page.keyboard.press('Control+Enter');
      const message = await page.locator('.editor-toolbar [role=alert]').textContent({ timeout: STEP_TIMEOUT });
      expect(message?.includes('no_such_table'), `the error does not name the table: ${message}`);
    });

    const timing = {};
    await test('a 1,000,000-row result scrolls to its end', async () => {
      await page.goto('/queries/new');
      await page.locator('.cm-content').click();
      await page.keyboard.type(
        "with recursive n(x) as (select 1 union all select x + 1 from n where x < 1000000) select x as id, x * 2 as doubled, 'row ' || x as label from n",
      );
      await page.keyboard.press('Escape');
      const runStarted = Date.now();
      await page.keyboard.press('Control+Enter');
      await until('the million-row result', async () => (await page.getByTestId('row-count').textContent({ timeout: 1000 }))?.includes('1,000,000 rows'), 240_000);
      timing.run_to_first_page_ms = Date.now() - runStarted;
      const measured = await page.evaluate(async () => {
        const scroller = document.querySelector('[data-testid=grid-scroll]');
        const frames = [];
        let last = performance.now();
        const end = scroller.scrollHeight - scroller.clientHeight;
        const steps = 240;
        // Scroll the whole height in 240 animation frames (about 4 s at 60 Hz), like a dragged
        // scrollbar, recording each frame's duration.
        for (let step = 1; step <= steps; step++) {
          scroller.scrollTop = Math.round((end * step) / steps);
          await new Promise((resolve) => requestAnimationFrame(resolve));
          const now = performance.now();
          frames.push(now - last);
          last = now;
        }
        const lastRowShown = performance.now();
        while (!document.querySelector('[data-row="999999"]') || document.querySelector('[data-row="999999"]').textContent.includes('…')) {
          await new Promise((resolve) => requestAnimationFrame(resolve));
          if (performance.now() - lastRowShown > 30_000) break;
        }
        const settle = performance.now() - lastRowShown;
        const sorted = [...frames].sort((a, b) => a - b);
        const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
        return {
          frames: frames.length,
          frame_p50_ms: at(0.5),
          frame_p95_ms: at(0.95),
          frame_max_ms: sorted[sorted.length - 1],
          frames_over_50ms: frames.filter((frame) => frame > 50).length,
          last_row_text: document.querySelector('[data-row="999999"]')?.textContent ?? null,
          last_page_ms: settle,
        };
      });
      Object.assign(timing, measured);
      expect(measured.last_row_text?.includes('row 1000000'), `the last row did not load: ${measured.last_row_text}`);
      await shoot('million-rows');
    });
    console.log('  1M-row scroll:', JSON.stringify(timing));
    expect(pageErrors.length === 0, `errors in the page: ${pageErrors.join('; ')}`);
    writeFileSync(join(artifacts, 'e2e-report.json'), JSON.stringify({ results, million_row_scroll: timing }, null, 2));
  } finally {
    await context?.close().catch(() => {});
    server.kill('SIGTERM');
    await until('dashi to stop', () => serverExit !== null, 20_000).catch(() => server.kill('SIGKILL'));
    rmSync(profile, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => console.log(`e2e: ${results.length} passed; screenshots in ${artifacts}`),
  (error) => {
    writeFileSync(join(artifacts, 'e2e-report.json'), JSON.stringify({ results, error: String(error) }, null, 2));
    console.error(`e2e failed: ${error?.message ?? error}`);
    process.exitCode = 1;
  },
);

// Checks the JavaScript peers that scripts/setup installs (npm ci from the repo's package-lock.json):
// each imports, and playwright-core drives Debian's /usr/bin/chromium headless (no browser download)
// to draw a uPlot chart from node_modules. Exit 0 and "N passed, 0 failed" when all hold; non-zero with
// the reason otherwise. Run: node tests/env/check_browser.mjs
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'package.json'));
const CHROMIUM = process.env.TW_CHROMIUM || '/usr/bin/chromium';
const PEERS = ['@mcap/core', '@foxglove/ws-protocol', 'playwright-core', 'uplot'];
let passed = 0, failed = 0;

function check(name, ok, detail) {
  console.log(`${ok ? 'ok' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`);
  ok ? passed++ : failed++;
}

function version(pkg) {
  // package.json is not exported by every package; read it by path under node_modules
  return require(join(root, 'node_modules', pkg, 'package.json')).version;
}

async function checkImports() {
  if (!existsSync(join(root, 'node_modules'))) {
    check('node_modules', false, `missing under ${root}: run scripts/setup (npm ci)`);
    return false;
  }
  for (const pkg of PEERS) {
    try {
      await import(pathToFileURL(require.resolve(pkg)).href);
      check(pkg, true, version(pkg));
    } catch (e) {
      check(pkg, false, `${e.message.split('\n')[0]} (run scripts/setup-peers --force)`);
    }
  }
  return failed === 0;
}

// uPlot drawn in a page: proves the browser starts, runs scripts, loads files and paints a canvas.
async function checkChromium() {
  if (!existsSync(CHROMIUM)) {
    check('chromium', false, `${CHROMIUM} missing: apt-get install chromium (scripts/setup does)`);
    return;
  }
  const { chromium } = require('playwright-core');
  // a fresh profile each run: playwright passes it as --user-data-dir (launch() refuses that flag in args)
  // and adds --headless itself
  const profile = mkdtempSync(join(tmpdir(), 'tw-chromium-'));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, timeout: 60000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync'],
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    const uplotDir = join(root, 'node_modules', 'uplot', 'dist');
    await page.setContent('<div id="c"></div>');
    await page.addStyleTag({ path: join(uplotDir, 'uPlot.min.css') });
    await page.addScriptTag({ path: join(uplotDir, 'uPlot.iife.min.js') });
    const drawn = await page.evaluate(async () => {
      const opts = { width: 200, height: 100, series: [{}, { stroke: 'red' }] };
      new uPlot(opts, [[0, 1, 2, 3], [1, 3, 2, 4]], document.getElementById('c'));
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); // uPlot paints on the next frame
      const cv = document.querySelector('#c canvas');
      const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      let painted = 0;
      for (let i = 3; i < px.length; i += 4) painted += px[i] !== 0;
      return { painted, agent: navigator.userAgent };
    });
    check('chromium headless', true, `${ctx.browser()?.version() ?? drawn.agent}`);
    check('uPlot paints in chromium', drawn.painted > 0, `${drawn.painted} painted pixels`);
  } catch (e) {
    check('chromium headless', false, e.message.split('\n')[0]);
  } finally {
    if (ctx) await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

if (await checkImports()) await checkChromium();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

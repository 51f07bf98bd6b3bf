// check.js - drives the playground (build/playground/) in Debian's headless
// chromium through puppeteer-core and writes what it saw for
// tests/test_playground.py, which judges it and does the native comparisons:
//   node tests/browser/check.js SITE_DIR OUT_DIR [SCREENSHOT.png]
// Serves SITE_DIR itself on 127.0.0.1 (a free port), records every request
// and console message, and writes OUT_DIR/result.json plus the exported files.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [siteArg, outDir, shot] = process.argv.slice(2);
const site = path.resolve(siteArg);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

function serve() {
  const stats = { bytes: 0, requests: [] };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = path.join(site, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
    stats.requests.push(url.pathname);
    if (!file.startsWith(site) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404); res.end(); return;
    }
    const body = fs.readFileSync(file);
    stats.bytes += body.length;
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
    res.end(body);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, stats, port: server.address().port })));
}

async function main() {
  const { server, stats, port } = await serve();
  const origin = `http://127.0.0.1:${port}`;
  const R = { console: [], outside: [], checks: {} };
  process.on('exit', () => { if (process.exitCode) console.error('console: ' + R.console.join('\n')); });
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-extensions',
      '--no-first-run', '--disable-background-networking', '--disable-component-update',
      // requestAnimationFrame unbound from the display's 60 Hz, so that the
      // redraw rate counted is what the page can draw (docs/PLAYGROUND.md)
      '--disable-frame-rate-limit', '--disable-gpu-vsync'],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 900 });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const u = req.url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) req.continue();
    else { R.outside.push(u); req.abort(); }
  });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') R.console.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => R.console.push('pageerror: ' + e.message));
  const pg = (fn, ...args) => page.evaluate(fn, ...args);

  // Load: time to ready from navigation, bytes.
  const load = async (query) => {
    await page.goto(origin + '/' + (query || ''), { waitUntil: 'load' });
    await pg(() => window.playground.ready);
    return pg(() => performance.now());
  };
  R.readyMs = await load('');
  R.bytes = stats.bytes;
  R.requests = stats.requests.slice();
  R.readyMs2 = await load('');

  // XOR, one hidden layer of 4 tanh units.
  R.checks.xor = await pg(() => {
    const p = window.playground;
    const c = p.configure({ dataset: 'xor', noise: 0, layers: [4], activation: 'tanh', output: 'sigmoid',
      optimizer: 'sgd', lr: 0.1, batch: 10, seed: 1, features: ['x1', 'x2'] });
    return { c, s: p.epoch(100) };
  });

  // Two spirals: the documented setup (docs/PLAYGROUND.md).
  const spiral = { dataset: 'spiral', points: 500, noise: 0, trainFraction: 0.5,
    features: ['x1', 'x2', 'x1sq', 'x2sq', 'x1x2', 'sinx1', 'sinx2'], layers: [8, 8], activation: 'tanh',
    output: 'sigmoid', optimizer: 'adam', lr: 0.03, batch: 10, l2: 0, seed: 1 };
  R.spiralSetup = spiral;
  R.checks.spiral = await pg((cfg) => {
    const p = window.playground;
    const c = p.configure(cfg);
    const t = performance.now();
    const s = p.epoch(300);
    return { c, s, ms: performance.now() - t };
  }, spiral);
  if (shot) {
    R.notes = await pg(() => { window.playground.step(1); return window.playground.inspect({ type: 'edge', layer: 1, j: 2, k: 3 }, 5); });
    await page.screenshot({ path: shot });
  }

  // Redraws per second while playing (8,8 tanh, 500 points, every neuron's heatmap), over 5 s.
  R.checks.play = await pg(async (cfg) => {
    const p = window.playground;
    p.configure(Object.assign({}, cfg, { features: ['x1', 'x2'] }));
    const f0 = p.frames, s0 = p.stats().step, t0 = performance.now(), t0m = p.timing();
    p.play();
    await new Promise((r) => setTimeout(r, 5000));
    p.pause();
    const dt = (performance.now() - t0) / 1000;
    const tm = p.timing(), timing = {};
    for (const k of Object.keys(tm)) timing[k] = +((tm[k] - (t0m[k] || 0)) / (p.frames - f0)).toFixed(2);
    return { fps: (p.frames - f0) / dt, steps: (p.stats().step - s0) / dt, seconds: dt, timing };
  }, spiral);
  R.checks.stepsPerSecond = await pg(() => {
    const p = window.playground, t = performance.now();
    p.step(2000);
    return 2000 / ((performance.now() - t) / 1000);
  });

  // Determinism across a reload.
  const detCfg = Object.assign({}, spiral, { layers: [6, 5], seed: 7, optimizer: 'momentum', lr: 0.01 });
  const runDet = () => pg((cfg) => {
    const p = window.playground;
    p.configure(cfg);
    p.step(37);
    const s = p.epoch(5);
    return { s, w: p.weights() };
  }, detCfg);
  const d1 = await runDet();
  await load('');
  const d2 = await runDet();
  R.checks.determinism = { same: JSON.stringify(d1) === JSON.stringify(d2), stats1: d1.s, stats2: d2.s, n: d1.w.length };

  // Exports and 1000 points for the native comparisons.
  const expCfg = { dataset: 'circle', points: 300, noise: 0.1, features: ['x1', 'x2', 'x1sq', 'sinx2'],
    layers: [6, 4], activation: ['tanh', 'relu'], output: 'sigmoid', optimizer: 'adam', lr: 0.02, batch: 16, seed: 3 };
  const ex = await pg((cfg) => {
    const p = window.playground;
    const c = p.configure(cfg);
    p.epoch(40);
    let s = 12345;
    const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
    const pts = Array.from({ length: 1000 }, () => [12 * rnd() - 6, 12 * rnd() - 6]);
    const model = p.exportModel('model'), onnx = p.exportModel('onnx'), cf = p.exportModel('c');
    const c8 = p.exportModel('c', { int8: true });
    return { c, pts, feats: p.features(pts), out: p.predict(pts), model: Array.from(model), onnx: Array.from(onnx), cf, c8, csv: p.dataCSV('train'), test: p.dataCSV('test'), cmd: p.command() };
  }, expCfg);
  fs.writeFileSync(path.join(outDir, 'model.safetensors'), Buffer.from(ex.model));
  fs.writeFileSync(path.join(outDir, 'model.onnx'), Buffer.from(ex.onnx));
  fs.writeFileSync(path.join(outDir, 'playground.c'), ex.cf.c);
  fs.writeFileSync(path.join(outDir, 'playground.h'), ex.cf.h);
  fs.mkdirSync(path.join(outDir, 'int8'), { recursive: true });
  fs.writeFileSync(path.join(outDir, 'int8', 'playground.c'), ex.c8.c);
  fs.writeFileSync(path.join(outDir, 'int8', 'playground.h'), ex.c8.h);
  fs.writeFileSync(path.join(outDir, 'playground-train.csv'), ex.csv);
  fs.writeFileSync(path.join(outDir, 'playground-test.csv'), ex.test);
  fs.writeFileSync(path.join(outDir, 'command.txt'), ex.cmd);
  R.checks.export = { c: ex.c, pts: ex.pts, feats: ex.feats, out: ex.out };

  // Gradient check for every activation.
  R.checks.gradcheck = await pg(() => {
    const p = window.playground, out = {};
    for (const a of ['sigmoid', 'tanh', 'relu', 'leaky_relu']) {
      const c = p.configure({ dataset: 'spiral', points: 200, features: ['x1', 'x2'], layers: [8, 8], activation: a,
        output: 'sigmoid', optimizer: 'sgd', lr: 0.03, batch: 10, seed: 2 });
      p.epoch(2);
      out[a] = { c, g: p.gradcheck() };
    }
    return out;
  });

  // Bad input: refused with a message, and the page still trains.
  const bad = {};
  const still = () => pg(() => {
    const p = window.playground;
    const c = p.configure({ dataset: 'xor', points: 200, layers: [4], activation: 'tanh', output: 'sigmoid',
      features: ['x1', 'x2'], optimizer: 'sgd', lr: 0.1, batch: 10, seed: 1 });
    const s = p.epoch(3);
    return c.ok && s && s.step > 0 && p.predict([[1, 1]])[0].length === 1;
  });
  const tryCSV = (text, opts) => pg((t, o) => {
    const before = JSON.stringify(window.playground.setup);
    const r = window.playground.loadCSV(t, o);
    return { r, unchanged: before === JSON.stringify(window.playground.setup) };
  }, text, opts || {});
  bad.textInNumeric = await tryCSV('a,b,y\n1,2,0\n3,hello,1\n4,5,0\n6,7,1\n');
  bad.textInNumeric.works = await still();
  bad.empty = await tryCSV('');
  bad.empty.works = await still();
  bad.big = await pg(() => {
    const row = '1.2345,2.3456,3.4567,4.5678,5.6789,6.7891,7.8912,0\n';
    const r = window.playground.loadCSV(row.repeat(Math.ceil(50 * 1048576 / row.length)), {});
    return { r };
  });
  bad.big.works = await still();
  bad.wide = await pg(() => {
    const n = 100000, h = Array.from({ length: n }, (_, i) => 'c' + i).join(',');
    const r1 = Array.from({ length: n }, (_, i) => (i % 7) / 7).join(',');
    const rows = [h, r1, r1, r1, r1].join('\n') + '\n';
    return { r: window.playground.loadCSV(rows, {}) };
  });
  bad.wide.works = await still();
  bad.goodCSV = await tryCSV('a,b,c,y\n1,2,3,x\n2,1,0,y\n3,3,1,x\n0,1,2,y\n1,1,1,x\n2,2,2,y\n', { target: 'y' });
  bad.goodCSV.stats = await pg(() => window.playground.epoch(5));
  bad.goodCSV.works = await still();
  bad.configure = await pg(() => {
    const p = window.playground, before = JSON.stringify(p.setup), w = JSON.stringify(p.weights());
    const rs = [p.configure({ layers: [1000] }), p.configure({ lr: -1 }), p.configure({ dataset: 'moon' }),
      p.configure({ activation: 'swish' }), p.configure({ bogus: 1 }), p.configure({ features: [] })];
    return { rs, unchanged: before === JSON.stringify(p.setup) && w === JSON.stringify(p.weights()) };
  });
  await load('?dataset=moon&layers=abc,9999&lr=banana&noise=-3&seed=x');
  bad.url = await pg(() => ({ message: window.playground.message(), setup: window.playground.setup }));
  bad.url.works = await still();
  R.checks.bad = bad;

  await browser.close();
  server.close();
  R.outside = R.outside.concat(stats.requests.filter((u) => !u.startsWith('/')));
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(R));
}

let R_ = null;
main().catch((e) => { console.error(e && e.stack || e); process.exit(2); });

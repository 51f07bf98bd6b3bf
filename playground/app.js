/* app.js - the playground page: controls, pictures and window.playground.
 * Every number of the network comes from the library (playground/api.c,
 * compiled with libbackprop to backprop.wasm); this file only draws. */
'use strict';
(function () {
  const DATASETS = ['xor', 'circle', 'spiral', 'gauss', 'checker', 'curve', 'csv'];
  const FEATURES = ['x1', 'x2', 'x1sq', 'x2sq', 'x1x2', 'sinx1', 'sinx2'];
  const FEATURE_TEXT = ['x₁', 'x₂', 'x₁²', 'x₂²', 'x₁x₂', 'sin x₁', 'sin x₂'];
  const ACTS = { sigmoid: 1, tanh: 2, relu: 3, leaky_relu: 4 };
  const ACT_NAMES = ['identity', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'softmax'];
  const OUTPUTS = { sigmoid: 0, softmax: 1, linear: 2 };
  const OPTIMIZERS = { sgd: 0, momentum: 1, 'notes-momentum': 3, adam: 4 };
  const INITS = { auto: 0, xavier: 1, he: 2, small: 3 };
  const DEFAULTS = {
    dataset: 'xor', points: 200, noise: 0, trainFraction: 0.5, features: ['x1', 'x2'],
    layers: [4], activation: 'tanh', output: 'sigmoid', init: 'auto', optimizer: 'sgd',
    lr: 0.1, batch: 10, l2: 0, seed: 1, axes: [0, 1],
  };
  const MAX_CSV_BYTES = 10 * 1024 * 1024;
  const GRID = 40;         /* grid of the neuron and output pictures */
  const $ = (id) => document.getElementById(id);

  let M = null;            /* the WebAssembly module */
  let setup = null;        /* the applied configuration */
  let csvNames = null;     /* the CSV's input column names */
  const timing = {};  /* ms spent per part of the drawing, for the tests */
  let playing = false, frames = 0, selected = null, point = 0;
  let losses = [];         /* [step, train loss, test loss] */
  let layout = null;       /* neuron boxes of the last network drawing */

  /* ---------------------------------------------------------- memory */
  const f32 = (p, n) => new Float32Array(M.HEAPF32.buffer, p, n);
  function err() { return M.UTF8ToString(M._pg_error()); }
  function withFloats(values, fn) {
    const p = M._malloc(Math.max(4, values.length * 4));
    try { f32(p, values.length).set(values); return fn(p); } finally { M._free(p); }
  }
  function withInts(values, fn) {
    const p = M._malloc(Math.max(4, values.length * 4));
    try { new Int32Array(M.HEAP32.buffer, p, values.length).set(values); return fn(p); } finally { M._free(p); }
  }
  function withString(s, fn) {
    const n = M.lengthBytesUTF8(s) + 1, p = M._malloc(n);
    try { M.stringToUTF8(s, p, n); return fn(p); } finally { M._free(p); }
  }

  /* ---------------------------------------------------- configuration */
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  function validate(cfg) {
    const known = Object.keys(DEFAULTS);
    for (const k of Object.keys(cfg)) if (!known.includes(k)) return `unknown field '${k}'`;
    const c = Object.assign({}, setup || DEFAULTS, cfg);
    if (!DATASETS.includes(c.dataset)) return `dataset: one of ${DATASETS.slice(0, 6).join(', ')}`;
    if (c.dataset === 'csv' && !(setup && setup.dataset === 'csv')) return 'dataset csv: load a CSV file first (loadCSV)';
    if (!Number.isInteger(c.points) || c.points < 4 || c.points > 100000) return 'points: an integer 4..100000';
    if (!isNum(c.noise) || c.noise < 0 || c.noise > 1) return 'noise: a number in [0, 1]';
    if (!isNum(c.trainFraction) || c.trainFraction <= 0 || c.trainFraction >= 1) return 'trainFraction: a number in (0, 1)';
    if (!Array.isArray(c.features) || !c.features.length || c.features.some((f) => !FEATURES.includes(f)))
      return `features: a non-empty array of ${FEATURES.join(', ')}`;
    if (!Array.isArray(c.layers) || c.layers.length > 8 || c.layers.some((w) => !Number.isInteger(w) || w < 1 || w > 64))
      return 'layers: up to 8 hidden widths, each an integer 1..64';
    const acts = Array.isArray(c.activation) ? c.activation : c.layers.map(() => c.activation);
    if (acts.length !== c.layers.length || acts.some((a) => !(a in ACTS)))
      return `activation: ${Object.keys(ACTS).join(', ')}, or an array of them, one per layer`;
    if (!(c.output in OUTPUTS)) return 'output: sigmoid, softmax or linear';
    if (!(c.init in INITS)) return `init: ${Object.keys(INITS).join(', ')}`;
    if (!(c.optimizer in OPTIMIZERS)) return `optimizer: ${Object.keys(OPTIMIZERS).join(', ')}`;
    if (!isNum(c.lr) || c.lr <= 0 || c.lr > 10) return 'lr: a number in (0, 10]';
    if (!Number.isInteger(c.batch) || c.batch < 1 || c.batch > 100000) return 'batch: an integer 1..100000';
    if (!isNum(c.l2) || c.l2 < 0 || c.l2 > 10) return 'l2: a number in [0, 10]';
    if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed > 4294967295) return 'seed: an integer 0..4294967295';
    if (!Array.isArray(c.axes) || c.axes.length !== 2 || c.axes.some((a) => !Number.isInteger(a) || a < 0))
      return 'axes: two column indices';
    return c;
  }

  /* Applies cfg over the current setup; refuses (and changes nothing) with a message. */
  function configure(cfg) {
    if (!M) return { ok: false, error: 'not ready' };
    if (cfg === null || typeof cfg !== 'object') return { ok: false, error: 'configure takes an object' };
    const c = validate(cfg);
    if (typeof c === 'string') return { ok: false, error: c };
    let pending = 0;
    if (c.dataset !== 'csv') {
      if (M._pg_generate(DATASETS.indexOf(c.dataset), c.points, c.noise, c.seed)) return { ok: false, error: err() };
      pending = 1;
    }
    const r = apply(c, pending);
    if (r.ok) { setup = c; afterConfigure(); }
    return r;
  }

  function apply(c, pending) {
    const acts = Array.isArray(c.activation) ? c.activation : c.layers.map(() => c.activation);
    let mask = 0;
    for (const f of c.features) mask |= 1 << FEATURES.indexOf(f);
    const rc = withInts(c.layers, (pw) => withInts(acts.map((a) => ACTS[a]), (pa) =>
      M._pg_configure(c.trainFraction, mask, c.layers.length, pw, pa, OUTPUTS[c.output], INITS[c.init],
        OPTIMIZERS[c.optimizer], c.lr, c.batch, c.l2, c.seed, c.axes[0], c.axes[1], pending)));
    return rc ? { ok: false, error: err() } : { ok: true, error: null };
  }

  function afterConfigure() {
    losses = []; selected = null; point = 0;
    record();
    writeURL();
    showControls();
    draw();
  }

  /* -------------------------------------------------------- training */
  function stats() {
    const p = M._pg_stats();
    if (!p) return null;
    const v = f32(p, 6);
    const acc = (a) => (a < 0 ? null : a);
    return {
      epoch: M._pg_epochs(), step: M._pg_steps(), trainLoss: v[2], testLoss: v[3],
      trainAccuracy: acc(v[4]), testAccuracy: acc(v[5]),
    };
  }
  let lastStats = null;
  function record() {
    const s = lastStats = stats();
    if (s) losses.push([s.step, s.trainLoss, s.testLoss]);
    if (losses.length > 2000) losses = losses.filter((_, i) => i % 2 === 0);
    return s;
  }
  /* n steps or epochs in chunks, a point of the loss curves after each
   * (about 100 per call). */
  function train(fn, n) {
    n = Number.isInteger(n) && n > 0 ? n : 1;
    const chunk = Math.max(1, Math.ceil(n / 100));
    for (let done = 0; done < n; done += chunk) {
      if (fn(Math.min(chunk, n - done))) { message(err()); setPlaying(false); break; }
      record();
    }
    return lastStats;
  }
  const step = (n) => { const s = train(M._pg_step, n); draw(); return s; };
  const epoch = (n) => { const s = train(M._pg_epoch, n); draw(); return s; };

  function predict(points) {
    const k = M._pg_data_inputs(0), out = M._pg_outputs();
    if (!Array.isArray(points)) throw new Error('predict takes an array of points');
    const flat = new Float32Array(points.length * k);
    points.forEach((p, i) => { for (let j = 0; j < k; j++) flat[i * k + j] = p[j] ?? 0; });
    const po = M._malloc(Math.max(4, points.length * out * 4));
    try {
      const rc = withFloats(flat, (pp) => M._pg_predict(pp, points.length, po));
      if (rc) throw new Error(err());
      const o = f32(po, points.length * out);
      return points.map((_, i) => Array.from(o.subarray(i * out, (i + 1) * out)));
    } finally { M._free(po); }
  }
  function features(points) {
    const k = M._pg_data_inputs(0), nin = M._pg_inputs();
    const flat = new Float32Array(points.length * k);
    points.forEach((p, i) => { for (let j = 0; j < k; j++) flat[i * k + j] = p[j] ?? 0; });
    const po = M._malloc(Math.max(4, points.length * nin * 4));
    try {
      withFloats(flat, (pp) => M._pg_features_of(pp, points.length, po));
      const o = f32(po, points.length * nin);
      return points.map((_, i) => Array.from(o.subarray(i * nin, (i + 1) * nin)));
    } finally { M._free(po); }
  }

  /* --------------------------------------------------------- exports */
  function readFile(path) { const b = M.FS.readFile(path); M.FS.unlink(path); return b; }
  function exportModel(format, opts) {
    const fmt = { model: 0, onnx: 1, c: (opts && opts.int8) ? 3 : 2 }[format];
    if (fmt === undefined) throw new Error("format: 'model', 'onnx' or 'c'");
    const path = fmt >= 2 ? '/tmp/playground.c' : fmt === 1 ? '/tmp/model.onnx' : '/tmp/model.safetensors';
    const rc = withString(path, (p) => M._pg_export(fmt, p));
    if (rc) throw new Error(err());
    if (fmt < 2) return readFile(path);
    const dec = new TextDecoder();
    return { c: dec.decode(readFile(path)), h: dec.decode(readFile('/tmp/playground.h')) };
  }
  /* The training ('train') or test ('test') points as CSV: the model's input
   * features (before normalization), then the target (class index or value). */
  function dataCSV(which) {
    const nin = M._pg_inputs(), test = which === 'test' ? 1 : 0;
    const names = setup.dataset === 'csv' ? (csvNames || []).slice(0, nin) : setup.features.slice();
    while (names.length < nin) names.push('x' + names.length);
    const tgt = f32(M._pg_data_target(), M._pg_data_count(0)).slice();
    const lines = [names.concat(['target']).join(',')];
    const n = test ? M._pg_test_count() : M._pg_train_count();
    const idx = new Uint32Array(M.HEAPU32.buffer, test ? M._pg_test_index() : M._pg_train_index(), n).slice();
    for (let i = 0; i < n; i++) {
      const f = Array.from(f32(M._pg_features(test, i), nin), (v) => +v.toPrecision(9));
      lines.push(f.concat([+tgt[idx[i]].toPrecision(9)]).join(','));
    }
    return lines.join('\n') + '\n';
  }
  /* The `backprop train` command that repeats this setup on those files (its
   * own normalization and generator: the same setup, not the same numbers). */
  function command() {
    const acts = Array.isArray(setup.activation) ? setup.activation : setup.layers.map(() => setup.activation);
    const sizes = [M._pg_inputs()].concat(setup.layers, [M._pg_outputs()]);
    const out = { sigmoid: ['sigmoid', 'bce'], softmax: ['softmax', 'xent'], linear: ['identity', 'mse'] }[setup.output];
    return `backprop train --data playground-train.csv --test playground-test.csv --normalize standard ` +
      `--layers ${sizes.join(',')}${acts.length ? ' --act ' + acts.join(',') : ''} --out-act ${out[0]} --loss ${out[1]} ` +
      `--init ${setup.init} --opt ${setup.optimizer} --lr ${setup.lr} --batch ${setup.batch} --seed ${setup.seed} ` +
      `--epochs ${Math.max(1, M._pg_epochs())} --save playground.safetensors`;
  }

  /* ---------------------------------------------------------------- CSV */
  function loadCSV(text, opts) {
    if (!M) return { ok: false, error: 'not ready' };
    if (typeof text !== 'string') return { ok: false, error: 'loadCSV takes the text of a CSV file' };
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > MAX_CSV_BYTES)
      return { ok: false, error: `the file is ${(bytes.length / 1048576).toFixed(1)} MB; the playground reads CSV files up to ${MAX_CSV_BYTES / 1048576} MB` };
    const target = opts && opts.target !== undefined ? opts.target : '';
    const path = '/tmp/data.csv';
    M.FS.writeFile(path, bytes);
    let rc;
    try {
      const byIndex = typeof target === 'number';
      rc = withString(path, (pp) => withString(byIndex ? '' : String(target), (pt) =>
        M._pg_load_csv(pp, pt, byIndex ? target : -1)));
    } finally { M.FS.unlink(path); }
    if (rc) return { ok: false, error: err().replace(path + ': ', '').replace(path + ':', 'line ') };
    const classes = M._pg_data_classes(1), k = M._pg_data_inputs(1);
    const c = Object.assign({}, setup, {
      dataset: 'csv', output: classes === 0 ? 'linear' : classes > 2 ? 'softmax' : setup.output === 'linear' ? 'sigmoid' : setup.output,
      axes: [0, Math.min(1, k - 1)],
    });
    const r = apply(c, 1);
    if (!r.ok) return r;
    csvNames = csvHeader(text, target, k);
    setup = c;
    afterConfigure();
    return { ok: true, error: null };
  }
  function csvHeader(text, target, k) {
    const first = text.slice(0, 65536).split(/\r?\n/)[0];
    const d = [',', ';', '\t'].map((c) => first.split(c).length).reduce((b, n, i) => (n > b[0] ? [n, i] : b), [0, 0]);
    let names = first.split([',', ';', '\t'][d[1]]).map((s) => s.trim().replace(/^"|"$/g, ''));
    if (names.length === k + 1) {
      const t = typeof target === 'number' ? (target < 0 ? names.length + target : target)
        : target ? names.indexOf(target) : names.length - 1;
      names.splice(t, 1);
    }
    if (names.length !== k || names.every((s) => isFinite(parseFloat(s)))) names = names.map((_, i) => 'c' + i).slice(0, k);
    return names;
  }

  function gradcheck() {
    const p = M._pg_gradcheck();
    if (!p) throw new Error(err());
    const v = f32(p, 9);
    return { largest: v[0], whole: v[1], ok: v[2] === 1, gradNorm: v[3], tolerance: v[4],
      points: Array.from(v.subarray(5, 9)).filter((i) => i >= 0) };
  }

  /* ---------------------------------------------------------------- URL */
  function writeURL() {
    if (setup.dataset === 'csv') return;
    const q = new URLSearchParams();
    for (const k of Object.keys(DEFAULTS)) {
      const v = setup[k];
      q.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    window.history.replaceState(null, '', '?' + q.toString());
  }
  function readURL() {
    const q = new URLSearchParams(location.search), cfg = {};
    for (const [k, v] of q) {
      if (!(k in DEFAULTS)) { cfg[k] = v; continue; }  /* validate refuses it by name */
      const d = DEFAULTS[k];
      if (Array.isArray(d)) {
        const parts = v === '' ? [] : v.split(',');
        cfg[k] = typeof d[0] === 'number' ? parts.map(Number) : parts;
      } else if (typeof d === 'number') cfg[k] = v.trim() === '' ? NaN : Number(v);
      else cfg[k] = v;
    }
    if (cfg.activation && typeof cfg.activation === 'string' && cfg.activation.includes(','))
      cfg.activation = cfg.activation.split(',');
    return cfg;
  }

  /* ------------------------------------------------------------ controls */
  function message(text) {
    const m = $('message');
    m.textContent = text || '';
    m.hidden = !text;
  }
  function showControls() {
    for (const k of ['points', 'noise', 'trainFraction', 'lr', 'batch', 'l2', 'seed'])
      $(k).value = setup[k];
    for (const k of ['dataset', 'output', 'optimizer', 'init']) $(k).value = setup[k];
    $('dataset').querySelector('[value=csv]').disabled = setup.dataset !== 'csv';
    $('layers').value = setup.layers.join(',');
    $('axes').value = setup.axes.join(',');
    const fb = $('featureBoxes');
    fb.innerHTML = '';
    FEATURES.forEach((f, i) => {
      const l = document.createElement('label');
      l.innerHTML = `<input type="checkbox" data-f="${f}"> ${FEATURE_TEXT[i]}`;
      l.firstChild.checked = setup.features.includes(f);
      l.firstChild.disabled = setup.dataset === 'csv';
      l.firstChild.onchange = fromControls;
      fb.appendChild(l);
    });
    const le = $('layerEdit');
    le.innerHTML = '';
    const acts = Array.isArray(setup.activation) ? setup.activation : setup.layers.map(() => setup.activation);
    setup.layers.forEach((w, i) => {
      const d = document.createElement('div');
      d.className = 'layer';
      d.innerHTML = `layer ${i + 1} <button data-d="-1">−</button><span>${w}</span><button data-d="1">+</button>` +
        `<select>${Object.keys(ACTS).map((a) => `<option${a === acts[i] ? ' selected' : ''}>${a}</option>`).join('')}</select>` +
        '<button data-rm="1" title="remove the layer">✕</button>';
      d.querySelectorAll('[data-d]').forEach((b) => (b.onclick = () => {
        const layers = setup.layers.slice();
        layers[i] = Math.max(1, Math.min(64, layers[i] + Number(b.dataset.d)));
        ui({ layers, activation: acts });
      }));
      d.querySelector('select').onchange = (e) => { const a = acts.slice(); a[i] = e.target.value; ui({ activation: a }); };
      d.querySelector('[data-rm]').onclick = () => ui({
        layers: setup.layers.filter((_, j) => j !== i), activation: acts.filter((_, j) => j !== i),
      });
      le.appendChild(d);
    });
    if (setup.layers.length < 8) {
      const b = document.createElement('button');
      b.textContent = '+ layer';
      b.onclick = () => ui({ layers: setup.layers.concat([4]), activation: acts.concat([acts[acts.length - 1] || 'tanh']) });
      le.appendChild(b);
    }
  }
  function ui(cfg) {
    const r = configure(cfg);
    message(r.ok ? '' : r.error);
    return r;
  }
  function fromControls() {
    const num = (id) => ($(id).value.trim() === '' ? NaN : Number($(id).value));
    const layers = $('layers').value.trim() === '' ? [] : $('layers').value.split(',').map(Number);
    const old = Array.isArray(setup.activation) ? setup.activation : setup.layers.map(() => setup.activation);
    const activation = layers.map((_, i) => old[i] || old[old.length - 1] || 'tanh');
    ui({
      dataset: $('dataset').value, points: num('points'), noise: num('noise'), trainFraction: num('trainFraction'),
      features: Array.from(document.querySelectorAll('#featureBoxes input:checked'), (e) => e.dataset.f),
      layers, activation, output: $('output').value, init: $('init').value, optimizer: $('optimizer').value,
      lr: num('lr'), batch: num('batch'), l2: num('l2'), seed: num('seed'),
      axes: $('axes').value.trim() === '' ? [0, 1] : $('axes').value.split(',').map(Number),
    });
  }
  function setPlaying(on) {
    playing = on;
    $('play').textContent = on ? '❚❚ pause' : '▶ play';
  }
  function download(name, data, type) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([data], { type: type || 'application/octet-stream' }));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function guarded(fn) { return () => { try { message(''); fn(); } catch (e) { message(e.message); } }; }
  function wire() {
    $('play').onclick = () => setPlaying(!playing);
    $('step').onclick = () => step(1);
    $('epoch').onclick = () => epoch(1);
    $('reset').onclick = () => ui({});
    $('apply').onclick = fromControls;
    for (const id of ['dataset', 'output', 'optimizer', 'init', 'points', 'noise', 'trainFraction', 'lr',
      'batch', 'l2', 'seed', 'layers', 'axes'])
      $(id).onchange = fromControls;
    $('csvfile').onchange = (e) => {
      const f = e.target.files[0];
      if (!f) return;
      if (f.size > MAX_CSV_BYTES) { message(`the file is ${(f.size / 1048576).toFixed(1)} MB; the playground reads CSV files up to ${MAX_CSV_BYTES / 1048576} MB`); return; }
      f.text().then((t) => {
        const tv = $('target').value.trim();
        const r = loadCSV(t, { target: tv === '' ? -1 : /^-?\d+$/.test(tv) ? Number(tv) : tv });
        message(r.ok ? '' : r.error);
      });
    };
    $('gradcheck').onclick = guarded(() => {
      const g = gradcheck();
      $('gcresult').textContent = `largest ${g.largest.toExponential(2)}, whole ${g.whole.toExponential(2)}: ${g.ok ? 'pass' : 'FAIL'} (tolerance ${g.tolerance})`;
    });
    $('dlModel').onclick = guarded(() => download('playground.safetensors', exportModel('model')));
    $('dlOnnx').onclick = guarded(() => download('playground.onnx', exportModel('onnx')));
    $('dlC').onclick = guarded(() => { const r = exportModel('c'); download('playground.c', r.c, 'text/plain'); download('playground.h', r.h, 'text/plain'); });
    $('dlC8').onclick = guarded(() => { const r = exportModel('c', { int8: true }); download('playground.c', r.c, 'text/plain'); download('playground.h', r.h, 'text/plain'); });
    $('dlData').onclick = guarded(() => {
      download('playground-train.csv', dataCSV('train'), 'text/csv');
      download('playground-test.csv', dataCSV('test'), 'text/csv');
      $('gcresult').textContent = command();
    });
    $('net').onclick = clickNet;
    $('plane').onclick = clickPlane;
  }

  /* ------------------------------------------------------------ pictures */
  /* value in [-1, 1] -> orange (negative) .. white .. blue (positive) */
  function rgb(v, out, o) {
    v = v > 1 ? 1 : v < -1 ? -1 : v;
    const w = 1 - Math.abs(v);
    if (v < 0) { out[o] = 245 + 10 * w; out[o + 1] = 147 + 108 * w; out[o + 2] = 34 + 221 * w; }
    else { out[o] = 8 + 247 * w; out[o + 1] = 119 + 136 * w; out[o + 2] = 189 + 66 * w; }
    out[o + 3] = 255;
  }
  const scratch = document.createElement('canvas');
  scratch.width = scratch.height = GRID;
  const sctx = scratch.getContext('2d');
  const img = sctx.createImageData(GRID, GRID);
  /* Draws GRID x GRID values (stride, offset) mapped by fn into a box of ctx. */
  function heat(ctx, vals, stride, off, fn, x, y, w, h) {
    const d = img.data;
    for (let i = 0; i < GRID * GRID; i++) rgb(fn(vals[i * stride + off]), d, 4 * i);
    sctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(scratch, x, y, w, h);
  }
  /* The colour of v in [-1, 1] as one RGBA word (little-endian), 1024 steps. */
  const LUT = new Uint32Array(1025);
  (function () {
    const c = [0, 0, 0, 0];
    for (let i = 0; i <= 1024; i++) { rgb(i / 512 - 1, c, 0); LUT[i] = (255 << 24 | (c[2] & 255) << 16 | (c[1] & 255) << 8 | (c[0] & 255)) >>> 0; }
  })();
  /* The same into a box x box square at (x, y), nearest grid value per pixel,
   * by putImageData (no scaling or compositing: the cheapest way to draw).
   * The value drawn is tanh(v) when sc.tanh, else sc.a v + sc.b. */
  const boxes = {};
  function heatBox(ctx, vals, stride, off, sc, x, y, box) {
    let im = boxes[box];
    if (!im) { im = boxes[box] = ctx.createImageData(box, box); im.d32 = new Uint32Array(im.data.buffer); }
    const d = im.d32, A = sc.a * 512, B = (sc.b + 1) * 512, th = sc.tanh;
    for (let r = 0; r < box; r++) {
      const gr = Math.min(GRID - 1, ((r * GRID) / box) | 0) * GRID;
      for (let c = 0; c < box; c++) {
        const v = vals[(gr + Math.min(GRID - 1, ((c * GRID) / box) | 0)) * stride + off];
        let i = th ? (Math.tanh(v) + 1) * 512 : A * v + B;
        i = i < 0 ? 0 : i > 1024 ? 1024 : i | 0;
        d[r * box + c] = LUT[i];
      }
    }
    ctx.putImageData(im, Math.round(x), Math.round(y));
  }
  const SC_ID = { a: 1, b: 0 }, SC_SIG = { a: 2, b: -1 }, SC_TANH = { tanh: true, a: 0, b: 0 };
  const boxScale = (act) => (act === 1 || act === 5 ? SC_SIG : act === 2 ? SC_ID : SC_TANH);
  const actScale = (act) => (act === 1 ? (v) => 2 * v - 1 : act === 2 ? (v) => v : act === 5 ? (v) => 2 * v - 1 : (v) => Math.tanh(v));

  function draw() {
    if (!M || !setup) return;
    let t = performance.now();
    const lap = (k) => { const n = performance.now(); timing[k] = (timing[k] || 0) + n - t; t = n; };
    if (M._pg_grid_forward(GRID)) { message(err()); return; }
    lap('forward');
    drawNet();
    lap('net');
    drawPlane();
    lap('plane');
    drawLoss();
    drawStats(losses.length ? lastStats : stats());
    lap('other');
    if (selected) showNotes();
    frames++;
  }

  function drawNet() {
    const cv = $('net'), ctx = cv.getContext('2d');
    const L = M._pg_layers(), widths = [];
    for (let l = 0; l <= L; l++) widths.push(M._pg_width(l));
    const H = cv.height, W = cv.width, cols = L + 1;
    const maxw = Math.max(...widths);
    const box = Math.max(6, Math.min(40, Math.floor((H - 20) / maxw) - 4));
    const gap = (W - 40 - box) / Math.max(1, cols - 1);
    const pos = widths.map((n, l) => {
      const x = 20 + l * gap, span = n * (box + 4);
      return Array.from({ length: n }, (_, j) => [x, (H - span) / 2 + j * (box + 4)]);
    });
    layout = { pos, box, widths };
    let t = performance.now();
    const lapNet = (k) => { const n = performance.now(); timing[k] = (timing[k] || 0) + n - t; t = n; };
    ctx.clearRect(0, 0, W, H);
    /* edges: colour by sign, width by size */
    for (let l = 0; l < L; l++) {
      const nin = widths[l], nout = widths[l + 1];
      const w = f32(M._pg_weight(l), nin * nout);
      for (let j = 0; j < nout; j++)
        for (let k = 0; k < nin; k++) {
          const v = w[j * nin + k], a = pos[l][k], b = pos[l + 1][j];
          ctx.strokeStyle = v < 0 ? 'rgba(245,147,34,0.7)' : 'rgba(8,119,189,0.7)';
          ctx.lineWidth = Math.min(6, 0.3 + Math.abs(v) * 1.5);
          ctx.beginPath();
          ctx.moveTo(a[0] + box, a[1] + box / 2);
          ctx.lineTo(b[0], b[1] + box / 2);
          ctx.stroke();
        }
    }
    /* neurons: each one's output over the plane, in place */
    lapNet('edges');
    const n = GRID * GRID, gin = f32(M._pg_grid_inputs(), n * widths[0]);
    for (let k = 0; k < widths[0]; k++) heatBox(ctx, gin, widths[0], k, SC_TANH, pos[0][k][0], pos[0][k][1], box);
    for (let l = 0; l < L; l++) {
      const a = f32(M._pg_layer_out(l), n * widths[l + 1]);
      let g = boxScale(M._pg_act(l));
      if (l === L - 1 && setup.output === 'linear') {
        const [lo, hi] = range(a.filter((_, i) => i % widths[l + 1] === 0)), h = (hi - lo) / 2 || 1;
        g = { a: 1 / h, b: -(lo + hi) / 2 / h };
      }
      for (let j = 0; j < widths[l + 1]; j++) heatBox(ctx, a, widths[l + 1], j, g, pos[l + 1][j][0], pos[l + 1][j][1], box);
    }
    lapNet('neurons');
    if (selected) {
      ctx.strokeStyle = '#d00'; ctx.lineWidth = 2;
      if (selected.type === 'neuron') {
        const p = pos[selected.layer + 1][selected.j];
        ctx.strokeRect(p[0] - 2, p[1] - 2, box + 4, box + 4);
      } else {
        const a = pos[selected.layer][selected.k], b = pos[selected.layer + 1][selected.j];
        ctx.beginPath(); ctx.moveTo(a[0] + box, a[1] + box / 2); ctx.lineTo(b[0], b[1] + box / 2); ctx.stroke();
      }
    }
    ctx.fillStyle = '#444'; ctx.font = '11px sans-serif';
    const names = setup.dataset === 'csv' ? csvNames || [] : setup.features.map((f) => FEATURE_TEXT[FEATURES.indexOf(f)]);
    if (box >= 14) names.forEach((s, k) => pos[0][k] && ctx.fillText(s, 2, pos[0][k][1] - 2));
  }
  function outputScale(a, stride) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < a.length; i += stride) { lo = Math.min(lo, a[i]); hi = Math.max(hi, a[i]); }
    const mid = (lo + hi) / 2, half = (hi - lo) / 2 || 1;
    return (v) => (v - mid) / half;
  }

  function planeMap() {
    const p = f32(M._pg_plane(), 4), cv = $('plane');
    const [x0, x1, y0, y1] = p;
    return {
      x: (u) => ((u - x0) / (x1 - x0)) * cv.width, y: (v) => cv.height - ((v - y0) / (y1 - y0)) * cv.height,
      u: (px) => x0 + (px / cv.width) * (x1 - x0), v: (py) => y0 + ((cv.height - py) / cv.height) * (y1 - y0),
    };
  }
  function classValue(out, nout, i) {
    if (nout === 1) return 2 * out[i] - 1;
    if (nout === 2) return 2 * out[i * 2 + 1] - 1;
    return 0;
  }
  function drawPlane() {
    const cv = $('plane'), ctx = cv.getContext('2d'), L = M._pg_layers();
    const nout = M._pg_width(L), n = GRID * GRID, out = f32(M._pg_layer_out(L - 1), n * nout);
    const map = planeMap(), curve = setup.dataset === 'curve';
    ctx.clearRect(0, 0, cv.width, cv.height);
    const classes = M._pg_data_classes(0);
    if (!curve) {
      const fn = setup.output === 'linear' ? outputScale(out, nout)
        : nout <= 2 ? (v) => v : null;
      if (fn && nout <= 2 && setup.output !== 'linear') {
        const vals = new Float32Array(n);
        for (let i = 0; i < n; i++) vals[i] = classValue(out, nout, i);
        heat(ctx, vals, 1, 0, (v) => v, 0, 0, cv.width, cv.height);
      } else if (fn) heat(ctx, out, nout, 0, fn, 0, 0, cv.width, cv.height);
      else { /* several classes: the argmax's colour, as pale as it is unsure */
        const d = img.data;
        for (let i = 0; i < n; i++) {
          let b = 0;
          for (let j = 1; j < nout; j++) if (out[i * nout + j] > out[i * nout + b]) b = j;
          const hue = (b * 360) / nout, p = out[i * nout + b];
          const c = hsl(hue, p);
          d[4 * i] = c[0]; d[4 * i + 1] = c[1]; d[4 * i + 2] = c[2]; d[4 * i + 3] = 255;
        }
        sctx.putImageData(img, 0, 0);
        ctx.drawImage(scratch, 0, 0, cv.width, cv.height);
      }
    } else {
      /* the curve: the network's y over x1 as a line */
      const pts = [];
      for (let c = 0; c < GRID; c++) pts.push([map.u((c / (GRID - 1)) * cv.width), 0]);
      const y = predict(pts);
      ctx.strokeStyle = '#0877bd'; ctx.lineWidth = 2; ctx.beginPath();
      pts.forEach((p, c) => (c ? ctx.lineTo : ctx.moveTo).call(ctx, map.x(p[0]), map.y(y[c][0])));
      ctx.stroke();
    }
    /* the points: train filled, test outlined */
    const k = M._pg_data_inputs(0), raw = f32(M._pg_data_raw(), M._pg_data_count(0) * k);
    const tgt = f32(M._pg_data_target(), M._pg_data_count(0));
    const ax = setup.axes, tgtRange = curve || classes ? null : range(tgt);
    const groups = new Map();  /* colour and kind -> [x, y, ...]: one path each */
    let sel = null;
    for (const test of [0, 1]) {
      const cnt = test ? M._pg_test_count() : M._pg_train_count();
      const idx = new Uint32Array(M.HEAPU32.buffer, test ? M._pg_test_index() : M._pg_train_index(), cnt);
      for (let i = 0; i < cnt; i++) {
        const r = idx[i], t = tgt[r];
        const px = map.x(raw[r * k + ax[0]]), py = map.y(raw[r * k + (k > 1 ? ax[1] : 0)]);
        const c = [0, 0, 0, 255];
        if (curve) c.splice(0, 3, 60, 60, 60);
        else if (classes === 2) rgb(t ? 1 : -1, c, 0);
        else if (classes) { const h = hsl((t * 360) / classes, 1); c.splice(0, 3, ...h); }
        else rgb(Math.round(((t - tgtRange[0]) / (tgtRange[1] - tgtRange[0] || 1)) * 8) / 4 - 1, c, 0);
        const key = `${test}rgb(${c[0] | 0},${c[1] | 0},${c[2] | 0})`;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(px, py);
        if (!test && i === point && selected) sel = [px, py];
      }
    }
    for (const [key, xy] of groups) {
      const sp = sprite(key);
      for (let i = 0; i < xy.length; i += 2) ctx.drawImage(sp, Math.round(xy[i]) - 5, Math.round(xy[i + 1]) - 5);
    }
    if (sel) { ctx.strokeStyle = '#d00'; ctx.lineWidth = 2; ctx.beginPath(); ctx.arc(sel[0], sel[1], 7, 0, 7); ctx.stroke(); }
  }
  /* A point as a small picture, drawn once per colour and kind (train: white
   * ring, test: black ring): stamping it is cheaper than stroking 500 arcs. */
  const sprites = new Map();
  function sprite(key) {
    let c = sprites.get(key);
    if (c) return c;
    c = document.createElement('canvas');
    c.width = c.height = 10;
    const x = c.getContext('2d'), test = key[0] === '1';
    x.fillStyle = key.slice(1); x.strokeStyle = test ? '#000' : '#fff'; x.lineWidth = 1;
    x.beginPath(); x.arc(5, 5, test ? 3 : 3.5, 0, 2 * Math.PI); x.fill(); x.stroke();
    sprites.set(key, c);
    return c;
  }
  function range(a) { let lo = Infinity, hi = -Infinity; for (const v of a) { lo = Math.min(lo, v); hi = Math.max(hi, v); } return [lo, hi]; }
  function hsl(h, p) {
    const s = 0.6, l = 1 - 0.45 * Math.max(0, Math.min(1, p));
    const f = (n) => { const k = (n + h / 30) % 12; return 255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1))); };
    return [f(0), f(8), f(4)];
  }

  function drawLoss() {
    const cv = $('loss'), ctx = cv.getContext('2d');
    ctx.clearRect(0, 0, cv.width, cv.height);
    if (losses.length < 1) return;
    let hi = 0;
    for (const h of losses) hi = Math.max(hi, isFinite(h[1]) ? h[1] : 0, isFinite(h[2]) ? h[2] : 0);
    hi = hi || 1;
    const last = losses[losses.length - 1][0] || 1;
    for (const [col, c] of [[1, '#333'], [2, '#d66']]) {
      ctx.strokeStyle = c; ctx.lineWidth = 1.5; ctx.beginPath();
      losses.forEach((h, i) => {
        const x = (h[0] / last) * (cv.width - 4) + 2, y = cv.height - 4 - (h[col] / hi) * (cv.height - 16);
        (i ? ctx.lineTo : ctx.moveTo).call(ctx, x, y);
      });
      ctx.stroke();
    }
    ctx.fillStyle = '#333'; ctx.font = '11px sans-serif';
    ctx.fillText('train loss', 6, 12); ctx.fillStyle = '#d66'; ctx.fillText('test loss', 70, 12);
  }
  function drawStats(s) {
    if (!s) return;
    const pct = (a) => (a === null ? '–' : (100 * a).toFixed(1) + '%');
    $('stats').textContent = `epoch ${s.epoch}, step ${s.step}; loss train ${s.trainLoss.toFixed(4)} test ${s.testLoss.toFixed(4)}; accuracy train ${pct(s.trainAccuracy)} test ${pct(s.testAccuracy)}`;
  }

  /* ------------------------------------------------------- the notes, live */
  function clickNet(e) {
    if (!layout) return;
    const r = e.target.getBoundingClientRect();
    const x = (e.clientX - r.left) * (e.target.width / r.width), y = (e.clientY - r.top) * (e.target.height / r.height);
    const { pos, box, widths } = layout;
    for (let l = 1; l < pos.length; l++)
      for (let j = 0; j < widths[l]; j++) {
        const p = pos[l][j];
        if (x >= p[0] && x <= p[0] + box && y >= p[1] && y <= p[1] + box) return select({ type: 'neuron', layer: l - 1, j });
      }
    let best = null, bd = 5;
    for (let l = 0; l + 1 < pos.length; l++)
      for (let j = 0; j < widths[l + 1]; j++)
        for (let k = 0; k < widths[l]; k++) {
          const a = [pos[l][k][0] + box, pos[l][k][1] + box / 2], b = [pos[l + 1][j][0], pos[l + 1][j][1] + box / 2];
          const d = segDist(x, y, a, b);
          if (d < bd) { bd = d; best = { type: 'edge', layer: l, j, k }; }
        }
    if (best) select(best);
  }
  function segDist(x, y, a, b) {
    const dx = b[0] - a[0], dy = b[1] - a[1], t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy || 1)));
    return Math.hypot(x - a[0] - t * dx, y - a[1] - t * dy);
  }
  function clickPlane(e) {
    const r = e.target.getBoundingClientRect(), map = planeMap();
    const x = (e.clientX - r.left) * (e.target.width / r.width), y = (e.clientY - r.top) * (e.target.height / r.height);
    const k = M._pg_data_inputs(0), raw = f32(M._pg_data_raw(), M._pg_data_count(0) * k);
    const n = M._pg_train_count(), idx = new Uint32Array(M.HEAPU32.buffer, M._pg_train_index(), n);
    let best = 0, bd = Infinity;
    for (let i = 0; i < n; i++) {
      const d = Math.hypot(map.x(raw[idx[i] * k + setup.axes[0]]) - x, map.y(raw[idx[i] * k + (k > 1 ? setup.axes[1] : 0)]) - y);
      if (d < bd) { bd = d; best = i; }
    }
    point = best;
    if (!selected) selected = { type: 'neuron', layer: M._pg_layers() - 1, j: 0 };
    draw();
  }
  function select(s) { selected = s; draw(); }
  const fmt = (v) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));
  const fp = (v) => (v < 0 ? `(${fmt(v)})` : fmt(v));  /* a factor of a product */
  const G = ['', 'σ', 'tanh', 'relu', 'leaky_relu', 'softmax'];
  function showNotes() {
    if (M._pg_inspect(point)) { $('notes').textContent = err(); return; }
    const l = selected.layer, j = selected.j, L = M._pg_layers();
    const nin = M._pg_width(l), nout = M._pg_width(l + 1), np = M._pg_param_count();
    const aprev = l === 0 ? f32(M._pg_inspect_x(point), nin) : f32(M._pg_layer_out(l - 1), nin);
    const z = f32(M._pg_inspect_z(l), nout)[j], a = f32(M._pg_layer_out(l), nout)[j];
    const w = f32(M._pg_weight(l), nin * nout), b = f32(M._pg_bias(l), nout)[j];
    const delta = f32(M._pg_bias_grad(l), nout)[j], dw = f32(M._pg_weight_grad(l), nin * nout);
    const act = G[M._pg_act(l)] || 'g', last = l === L - 1;
    const terms = Array.from({ length: Math.min(nin, 4) }, (_, k) => `${fmt(w[j * nin + k])}·${fp(aprev[k])}`).join(' + ');
    const y = f32(M._pg_inspect_y(point), M._pg_outputs());
    let t = `point ${point} of the training set (click the plane to choose), target y = ${Array.from(y, fmt).join(', ')}\n`;
    t += `layer ${l + 1} (${last ? 'output' : 'hidden'}), unit ${j + 1}, activation ${ACT_NAMES[M._pg_act(l)]}\n\n`;
    t += `z = w·a_prev + b = ${terms}${nin > 4 ? ' + …' : ''} + ${fmt(b)} = ${fmt(z)}\n`;
    t += `a = ${act}(z) = ${fmt(a)}\n`;
    t += last ? `δ = ∂J/∂z = a − y (the loss fused with the output) = ${fmt(delta)}\n`
      : `δ = (W_next^T δ_next) ⊙ ${act}′(z) = ${fmt(delta)}\n`;
    /* the parameter of the update: the edge's weight, or the neuron's bias */
    const off = paramOffset(l) + (selected.type === 'edge' ? j * nin + selected.k : nin * nout + j);
    if (selected.type === 'edge') {
      const k = selected.k;
      t += `\nedge from unit ${k + 1} of ${l === 0 ? 'the inputs' : 'layer ' + l}: w = ${fmt(w[j * nin + k])}\n`;
      t += `∂J/∂w = δ·a_prev = ${fmt(delta)}·${fp(aprev[k])} = ${fmt(dw[j * nin + k])}\n`;
    } else t += `∂J/∂b = δ = ${fmt(delta)}\n`;
    t += '\n' + updateText(off, np);
    $('notes').innerHTML = '<div class="eq"></div>';
    $('notes').firstChild.textContent = t;
  }
  function paramOffset(l) {
    let off = 0;
    for (let i = 0; i < l; i++) off += M._pg_width(i) * M._pg_width(i + 1) + M._pg_width(i + 1);
    return off;
  }
  function updateText(off, np) {
    const g = f32(M._pg_inspect_gfull(), np)[off], d = f32(M._pg_inspect_update(), np)[off];
    const p = f32(M._pg_params(), np)[off];
    const lr = M._pg_optim_value(0), mu = M._pg_optim_value(1), b1 = M._pg_optim_value(2), b2 = M._pg_optim_value(3);
    const tstep = M._pg_optim_value(5) + 1, st = {};
    for (let s = 0; s < M._pg_optim_state_count(); s++) st[M.UTF8ToString(M._pg_optim_state_name(s))] = f32(M._pg_optim_state(s), np)[off];
    let t = `the next update (${setup.optimizer}, α = ${lr}, step t = ${tstep}) with g = ∂J/∂θ over the training set${setup.l2 ? ' (+ L2)' : ''} = ${fmt(g)}:\n`;
    if (setup.optimizer === 'sgd') t += `θ ← θ − α g`;
    else if (setup.optimizer === 'momentum') t += `v ← μ v + g (v = ${fmt(st.velocity)}, μ = ${mu}); θ ← θ − α v`;
    else if (setup.optimizer === 'notes-momentum') t += `m ← β m + (1 − β) g (m = ${fmt(st.m)}, β = ${mu}); θ ← θ − α m / (1 − β^t)`;
    else t += `m ← β₁ m + (1 − β₁) g, v ← β₂ v + (1 − β₂) g² (m = ${fmt(st.m)}, v = ${fmt(st.v)}, β = ${b1}, ${b2});\nθ ← θ − α m̂ / (√v̂ + ε)`;
    t += `\nθ = ${fmt(p)}, Δθ = ${fmt(d)} → ${fmt(p + d)}`;
    return t;
  }

  /* ---------------------------------------------------------------- loop */
  function frame() {
    if (playing) {
      const n = Math.max(1, Math.min(1000, Number($('spf').value) || 1));
      if (M._pg_step(n)) { message(err()); setPlaying(false); }
      record();
      draw();
    }
    requestAnimationFrame(frame);
  }

  let resolveReady, rejectReady;
  const ready = new Promise((res, rej) => { resolveReady = res; rejectReady = rej; });
  window.playground = {
    ready, configure, step, epoch, stats, predict, exportModel, loadCSV, gradcheck,
    /* beyond the issue's surface, for tests and the console */
    features, dataCSV, command,
    play: () => setPlaying(true), pause: () => setPlaying(false),
    get frames() { return frames; },
    timing: () => Object.assign({}, timing),
    get setup() { return JSON.parse(JSON.stringify(setup)); },
    /* shows the notes' equations for a neuron ({type: 'neuron', layer, j}) or an
     * edge ({type: 'edge', layer, j, k}) of 0-based layer `layer`, at training point `pt` */
    inspect: (sel, pt) => { point = pt || 0; select(sel); return $('notes').textContent; },
    weights: () => Array.from(f32(M._pg_params(), M._pg_param_count())),
    message: () => ($('message').hidden ? '' : $('message').textContent),
  };

  createBackprop().then((mod) => {
    M = mod;
    M._pg_threads();
    wire();
    const fromURL = readURL();
    setup = Object.assign({}, DEFAULTS);
    let r = configure(Object.assign({}, DEFAULTS, fromURL));
    if (!r.ok) {
      const bad = r.error;
      r = configure(Object.assign({}, DEFAULTS));
      message(`the link's setup was refused (${bad}); the default setup is shown`);
    }
    $('status').textContent = 'ready';
    requestAnimationFrame(frame);
    resolveReady(true);
  }, (e) => { $('status').textContent = 'failed to load: ' + e; rejectReady(e); });
})();

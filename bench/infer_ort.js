// infer_ort.js - onnxruntime-node's inference rate on an ONNX model, for
// bench/infer.py (the same lines as bench/bench_infer.c prints):
//   node bench/infer_ort.js MODEL.onnx TRIVIAL.onnx INPUTS THREADS SECONDS BATCH...
// One session with intraOpNumThreads = THREADS, interOpNumThreads = 1 and every
// graph optimization on; for each batch size, "batch B calls_per_s R" (the
// median of 5 timed slices after a warm-up, the same input each call); then
// "overhead_us U": one call of TRIVIAL (a 1-in, 1-out linear model) at batch 1,
// the binding's own cost per call.
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tests', 'node', 'node_modules', 'onnxruntime-node'));

function inputFor(session, batch, width) {
    const data = new Float32Array(batch * width);
    let s = 12345;
    for (let i = 0; i < data.length; i++) {  // uniform in [0, 1), as bench_infer's
        s = (s * 1103515245 + 12345) % 2147483648;
        data[i] = s / 2147483648;
    }
    return {[session.inputNames[0]]: new ort.Tensor('float32', data, [batch, width])};
}

async function rate(session, feeds, seconds) {
    const slices = [];
    for (const t0 = process.hrtime.bigint(); Number(process.hrtime.bigint() - t0) < seconds * 0.2e9;)
        await session.run(feeds);  // warm-up
    for (let s = 0; s < 5; s++) {
        let calls = 0;
        const t0 = process.hrtime.bigint();
        let dt;
        do {
            await session.run(feeds);
            calls++;
            dt = Number(process.hrtime.bigint() - t0) / 1e9;
        } while (dt < seconds / 5);
        slices.push(calls / dt);
    }
    slices.sort((a, b) => a - b);
    return slices[2];
}

async function main() {
    const [model, trivial, inputs, threads, seconds, ...batches] = process.argv.slice(2);
    const opts = {intraOpNumThreads: Number(threads), interOpNumThreads: 1,
                  graphOptimizationLevel: 'all', executionMode: 'sequential'};
    const session = await ort.InferenceSession.create(model, opts);
    const width = Number(inputs);
    for (const b of batches) {
        const r = await rate(session, inputFor(session, Number(b), width), Number(seconds) / batches.length);
        console.log(`batch ${b} calls_per_s ${r.toFixed(1)}`);
    }
    const tiny = await ort.InferenceSession.create(trivial, opts);
    const r = await rate(tiny, inputFor(tiny, 1, 1), 0.25);
    console.log(`overhead_us ${(1e6 / r).toFixed(2)}`);
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });

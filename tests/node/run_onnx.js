// run_onnx.js - runs ONNX models in onnxruntime (the npm package
// onnxruntime-node, installed into tests/node/node_modules by scripts/deps.sh)
// for tests/test_onnx.py. Usage: node run_onnx.js JOBS.json, where JOBS.json
// is a list of {"model": PATH, "input": PATH, "rows": N, "cols": K,
// "output": PATH}: input holds rows*cols little-endian float32 values, fed
// as the model's "input" (N, K); output receives the model's only output as
// little-endian float32, and PATH.json its dims and the model's metadata.
// One process for every job: starting onnxruntime takes most of the time.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const opts = {intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all'};
  for (const job of jobs) {
    const session = await ort.InferenceSession.create(job.model, opts);
    const buf = fs.readFileSync(job.input);
    const x = new Float32Array(buf.buffer, buf.byteOffset, job.rows * job.cols);
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', x, [job.rows, job.cols]);
    const result = await session.run(feeds);
    const y = result[session.outputNames[0]];
    fs.writeFileSync(job.output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    fs.writeFileSync(job.output + '.json', JSON.stringify({
      dims: y.dims, input: session.inputNames[0], output: session.outputNames[0],
    }));
  }
}

main().catch((e) => {
  console.error('run_onnx.js: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});

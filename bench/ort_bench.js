#!/usr/bin/env node
// ONNX Runtime reference for the encoder benchmark (bench/run_encoder_bench.sh runs it).
//
// Reads the manifest that `encoder_reference.py export` wrote; for every graph: opens a session
// (intra-op threads --threads, inter-op 1, sequential, all graph optimizations), checks its output
// on the exported ids against the PyTorch reference module's z (max |diff| / max |z|), then times
// --warmup + --runs calls and prints one JSON object (median and best ms, tokens/s).
//
//   ORT_DIR=build/ort node bench/ort_bench.js MANIFEST [--threads 2] [--runs 15] [--warmup 3] [--only light,plain]
"use strict";
const fs = require("fs");
const path = require("path");

const args = process.argv.slice(2);
if (args.length < 1) {
  console.error("usage: node ort_bench.js MANIFEST [--threads N] [--runs N] [--warmup N] [--only WORD,...]");
  process.exit(2);
}
const opt = { threads: 2, runs: 15, warmup: 3, only: [] };
for (let i = 1; i < args.length; i += 2) {
  const key = args[i].replace(/^--/, "");
  if (!(key in opt)) {
    console.error(`unknown option ${args[i]}`);
    process.exit(2);
  }
  opt[key] = key === "only" ? args[i + 1].split(",") : Number(args[i + 1]);
}

const ortDir = process.env.ORT_DIR || path.join(__dirname, "..", "build", "ort");
const ort = require(require.resolve("onnxruntime-node", { paths: [ortDir] }));
const version = require(require.resolve("onnxruntime-node/package.json", { paths: [ortDir] })).version;

const manifestPath = args[0];
const dir = path.dirname(manifestPath);
const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));

function readTyped(file, Type) {
  const buf = fs.readFileSync(path.join(dir, file));
  return new Type(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const results = [];
  for (const m of manifest) {
    if (opt.only.length && !opt.only.every((w) => m.path === w || m.variant === w || String(m.batch) === w)) continue;
    const session = await ort.InferenceSession.create(path.join(dir, m.onnx), {
      intraOpNumThreads: opt.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      executionProviders: ["cpu"],
    });
    const ids = readTyped(m.ids, BigInt64Array);
    const feeds = { ids: new ort.Tensor("int64", ids, [m.batch, m.T]) };
    const expect = readTyped(m.z, Float32Array);
    const out = (await session.run(feeds)).z.data;
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < expect.length; ++i) {
      maxDiff = Math.max(maxDiff, Math.abs(out[i] - expect[i]));
      maxRef = Math.max(maxRef, Math.abs(expect[i]));
    }
    const relErr = maxDiff / Math.max(maxRef, 1e-30);
    for (let i = 0; i < opt.warmup; ++i) await session.run(feeds);
    const runs = m.batch === 1 ? opt.runs : Math.max(3, Math.floor(opt.runs / 2));
    const times = [];
    for (let i = 0; i < runs; ++i) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const med = median(times);
    const row = {
      path: m.path, batch: m.batch, T: m.T, variant: m.variant, rel_err: relErr,
      median_ms: med, best_ms: Math.min(...times), samples: runs, tokens_per_s: (m.batch * m.T * 1000) / med,
    };
    console.error(`[ort] ${m.path} B=${m.batch} ${m.variant}: ${med.toFixed(1)} ms, ` +
                  `${row.tokens_per_s.toFixed(0)} tokens/s, output rel. error ${relErr.toExponential(2)}`);
    if (!(relErr < 1e-4)) console.error(`[ort] WARNING: ${m.onnx} does not reproduce the reference output`);
    results.push(row);
    await session.release();
  }
  console.log(JSON.stringify({ onnxruntime_node: version, threads: opt.threads, results }, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

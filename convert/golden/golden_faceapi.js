// golden_faceapi.js - runs the upstream face-api package (npm @vladmandic/face-api, its
// face-api.node-wasm.js build) under Node.js on tfjs' pure-JavaScript CPU backend, for the golden
// fixtures of the C networks. Driven by convert/golden/golden_faceapi.py, which installs the
// pinned packages (convert/golden/faceapi_node/package.json + package-lock.json) into
// build/faceapi-node/ and sets NODE_PATH to its node_modules.
//
//   node golden_faceapi.js MODEL_DIR JOBS.json OUT.json
//
// MODEL_DIR holds face_recognition_model-* and/or age_gender_model-* (the real ones, or the
// random tiny ones the Python side writes). JOBS.json is a list of jobs:
//   {"net": "recognition" | "agegender", "image": "RAW.f32", "h": H, "w": W,
//    "landmarks": [[x, y] x 5]   (optional: face-api's dlib-chip rectangle from 5 points), or
//    "box": [x, y, width, height] (optional: a rectangle, as a detector's box)}
// RAW.f32 is the (H, W, 3) RGB image as little-endian float32, values 0..255. Without
// landmarks or box the whole image is the input (face-api pads it to a square and resizes it).
// OUT.json gets, per job, {"rect": [x, y, w, h] (the crop face-api cut, if any),
// "descriptor": [128 numbers]} or {"rect", "age", "p_male"}. Numbers are the float32 values
// face-api returns, written by JSON.stringify (exact round trip).
'use strict';
const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

const tf = faceapi.tf;

async function main() {
  const [modelDir, jobsPath, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node golden_faceapi.js MODEL_DIR JOBS.json OUT.json');
  await tf.setBackend('cpu'); // the pure-JavaScript backend: no native or wasm binaries
  await tf.ready();
  const jobs = JSON.parse(fs.readFileSync(jobsPath, 'utf8'));
  const nets = new Set(jobs.map((j) => j.net));
  if (nets.has('recognition')) await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  if (nets.has('agegender')) await faceapi.nets.ageGenderNet.loadFromDisk(modelDir);
  const out = [];
  for (const job of jobs) {
    const buf = fs.readFileSync(path.resolve(path.dirname(jobsPath), job.image));
    const pixels = new Float32Array(buf.buffer, buf.byteOffset, job.h * job.w * 3);
    const img = tf.tensor3d(pixels, [job.h, job.w, 3], 'float32');
    let input = img;
    let rect = null;
    if (job.landmarks || job.box) {
      if (job.landmarks) {
        // FaceLandmarks take positions relative to the image and scale them by its size
        const rel = job.landmarks.map(([x, y]) => new faceapi.Point(x / job.w, y / job.h));
        const lm = new faceapi.FaceLandmarks5(rel, { width: job.w, height: job.h });
        rect = lm.align(null, { useDlibAlignment: true });
      } else {
        const [x, y, w, h] = job.box;
        rect = new faceapi.Rect(x, y, w, h);
      }
      const clipped = rect.clipAtImageBorders(job.w, job.h);
      rect = [clipped.x, clipped.y, clipped.width, clipped.height];
      const crops = await faceapi.extractFaceTensors(img, [new faceapi.Rect(...rect)]);
      if (crops.length !== 1) throw new Error(`${job.image}: empty crop ${JSON.stringify(rect)}`);
      input = crops[0];
    }
    const res = { rect };
    if (job.net === 'recognition') {
      res.descriptor = Array.from(await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input));
    } else {
      const p = await faceapi.nets.ageGenderNet.predictAgeAndGender(input);
      res.age = p.age;
      res.p_male = p.gender === 'male' ? p.genderProbability : 1 - p.genderProbability;
    }
    if (input !== img) input.dispose();
    img.dispose();
    out.push(res);
  }
  fs.writeFileSync(outPath, JSON.stringify({ version: faceapi.version, tfjs: tf.version_core, backend: tf.getBackend(), results: out }));
}

main().catch((e) => { console.error(`golden_faceapi.js: ${e.message}`); process.exit(1); });

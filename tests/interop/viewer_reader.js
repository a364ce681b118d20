// Runs the disc viewer's DICOM reader (crates/media/src/pdi/web/viewer/viewer.js, the code
// of its exact mode) under Node.js, for test_viewer_reader.py: for each job on stdin (one
// JSON array of {path, points: [[frame, x, y], ...]}) it prints one JSON line: the image's
// size and kind and the modality value at each point, or the reader's refusal, or, as a
// defect, any other exception.
'use strict';
const fs = require('fs');
const path = require('path');
const viewer = require(path.resolve(__dirname, '../../crates/media/src/pdi/web/viewer/viewer.js'));

const jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
for (const job of jobs) {
  const out = { path: job.path };
  try {
    const b = fs.readFileSync(job.path);
    const img = new viewer.DicomImage(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    out.rows = img.rows;
    out.columns = img.columns;
    out.frames = img.frames;
    out.gray = img.gray;
    out.values = (job.points || []).map(([f, x, y]) => img.valueAt(f, x, y));
    if (job.draw) {
      // Every frame drawn at its automatic window: the whole pixel path runs.
      for (let f = 0; f < img.frames; f++) {
        const data = { data: new Uint8ClampedArray(img.rows * img.columns * 4) };
        img.draw(f, img.gray ? img.minMax(f) : {}, data);
      }
    }
    out.ok = true;
  } catch (e) {
    out.ok = false;
    out.refused = e instanceof viewer.DicomError;
    out.error = String(e && e.message ? e.message : e);
    if (!out.refused) out.stack = String(e && e.stack);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

/* dcmdisc: the disc's image viewer (docs/viewer.md).
 *
 * This file is a script that the series pages of IHE_PDI/ run in the browser. It is stored
 * with a .TXT name so that no computer runs it on its own when it is opened from the disc.
 *
 * One classic script: no modules, workers, fetch or XMLHttpRequest, which browsers refuse
 * to pages opened from file://. It turns the static series page into a stack viewer over
 * the page's JPEGs, and, when the user picks the disc's folder, draws the DICOM files
 * themselves (exact mode). Whatever fails leaves the static page as it was.
 */
(function () {
  'use strict';

  var root = typeof document === 'undefined' ? null : document.documentElement;
  var FRAME_NAME = /^[A-Z]\d{7}\.JPG$/;
  var CINE_FPS = 10;
  var PRELOAD = 10;

  function pad7(n) {
    var s = String(n);
    while (s.length < 7) s = '0' + s;
    return s;
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function styled(e, css) {
    Object.keys(css).forEach(function (k) { e.style[k] = css[k]; });
    return e;
  }

  function fmt(v) {
    if (typeof v !== 'number' || !isFinite(v)) return String(v);
    return Math.abs(v - Math.round(v)) < 1e-9 ? String(Math.round(v)) : v.toFixed(2).replace(/\.?0+$/, '');
  }

  // The patient directions a direction cosine vector points to (PS3.3 C.7.6.1.1.1: x to the
  // patient's left, y to posterior, z to head), the main one first, up to three for an
  // oblique image: "L", "AF", …
  function directionOf(x, y, z) {
    var parts = [[x, 'L', 'R'], [y, 'P', 'A'], [z, 'H', 'F']];
    parts.sort(function (a, b) { return Math.abs(b[0]) - Math.abs(a[0]); });
    var out = '';
    parts.forEach(function (p) {
      if (Math.abs(p[0]) > 0.25) out += p[0] > 0 ? p[1] : p[2];
    });
    return out;
  }

  // The letters at the four edges of an image of orientation `o` (row, column cosines).
  function edgeLetters(o) {
    if (!o || o.length !== 6) return null;
    return {
      right: directionOf(o[0], o[1], o[2]),
      left: directionOf(-o[0], -o[1], -o[2]),
      bottom: directionOf(o[3], o[4], o[5]),
      top: directionOf(-o[3], -o[4], -o[5])
    };
  }

  // ------------------------------------------------------------------ the series' frames

  function framesOf(series) {
    var frames = [];
    var number = 1;
    series.forEach(function (entry) {
      for (var f = 0; f < (entry.frames || 0); f++) {
        frames.push({ entry: entry, index: f, number: number });
        number++;
      }
    });
    return frames;
  }

  // The JPEG of `frame` at preset `p`; the default rendering when that preset has none.
  function jpegOf(frame, p) {
    var presets = frame.entry.presets || [];
    var letter = presets[p] && presets[p].jpeg ? presets[p].jpeg : 'F';
    return letter + pad7(frame.number) + '.JPG';
  }

  // The presets the series offers: the first image's, as buttons.
  function presetList(frames) {
    var first = frames[0].entry.presets || [];
    if (first.length === 0) return [{ label: 'Default', jpeg: 'F' }];
    return first;
  }

  // ------------------------------------------------------------------ DICOM (exact mode)
  //
  // A reader of the files the user picked: Explicit and Implicit VR Little Endian, native
  // Pixel Data (dcmdisc writes discs so). Anything else is said and the JPEG view stays.

  var SQ_TAGS = { '00283000': 1, '00283010': 1, '52009229': 1, '52009230': 1, '00289145': 1, '00289132': 1 };
  var LONG_VRS = { OB: 1, OD: 1, OF: 1, OL: 1, OV: 1, OW: 1, SQ: 1, SV: 1, UC: 1, UN: 1, UR: 1, UT: 1, UV: 1 };
  var UNDEFINED = 0xffffffff;
  var MAX_DEPTH = 16;

  function hex8(tag) {
    var s = tag.toString(16);
    while (s.length < 8) s = '0' + s;
    return s;
  }

  function DicomError(message) { this.message = message; }

  // Reads the data set in `view` from `start` to `end`: a map of tag (8 hex digits) to
  // {vr, offset, length, items}. Sequences are read into items; Pixel Data is not copied.
  // `metaOnly`: stop at the first element past group 0002 (the File Meta Information).
  function readDataset(view, start, end, explicit, depth, metaOnly) {
    var out = {};
    var pos = start;
    if (depth > MAX_DEPTH) throw new DicomError('sequences nested too deep');
    while (pos + 8 <= end) {
      var group = view.getUint16(pos, true);
      var elem = view.getUint16(pos + 2, true);
      var tag = (group * 65536 + elem) >>> 0;
      if (tag === 0xfffee00d) return { map: out, end: pos + 8 };
      if (metaOnly && group !== 0x0002) return { map: out, end: pos };
      var vr = null;
      var length;
      var header;
      if (group === 0xfffe) {
        length = view.getUint32(pos + 4, true);
        header = 8;
      } else if (explicit) {
        vr = String.fromCharCode(view.getUint8(pos + 4), view.getUint8(pos + 5));
        if (LONG_VRS[vr]) {
          if (pos + 12 > end) throw new DicomError('an element runs past the end of the file');
          length = view.getUint32(pos + 8, true);
          header = 12;
        } else {
          length = view.getUint16(pos + 6, true);
          header = 8;
        }
      } else {
        length = view.getUint32(pos + 4, true);
        header = 8;
      }
      var key = hex8(tag);
      var valueAt = pos + header;
      var isSeq = vr === 'SQ' || (!explicit && SQ_TAGS[key]) ||
        (length === UNDEFINED && tag !== 0x7fe00010);
      if (tag === 0x7fe00010 && length === UNDEFINED) {
        throw new DicomError('the pixel data are compressed');
      }
      if (isSeq) {
        if (length !== UNDEFINED && valueAt + length > end) {
          throw new DicomError('a sequence runs past the end of its data');
        }
        var seq = readItems(view, valueAt, length === UNDEFINED ? end : valueAt + length,
          length === UNDEFINED, explicit && vr !== 'UN', depth + 1);
        out[key] = { vr: 'SQ', items: seq.items };
        pos = seq.end;
        continue;
      }
      if (length === UNDEFINED || valueAt + length > end) {
        throw new DicomError('an element runs past the end of the file');
      }
      out[key] = { vr: vr, offset: valueAt, length: length };
      pos = valueAt + length;
    }
    return { map: out, end: pos };
  }

  function readItems(view, start, end, undefinedLength, explicit, depth) {
    var items = [];
    var pos = start;
    while (pos + 8 <= end) {
      var group = view.getUint16(pos, true);
      var elem = view.getUint16(pos + 2, true);
      var length = view.getUint32(pos + 4, true);
      if (group !== 0xfffe) throw new DicomError('a sequence holds something that is not an item');
      if (elem === 0xe0dd) return { items: items, end: pos + 8 };
      if (elem !== 0xe000) throw new DicomError('a sequence holds an unknown delimiter');
      var itemEnd = length === UNDEFINED ? end : pos + 8 + length;
      if (itemEnd > end) throw new DicomError('an item runs past its sequence');
      var ds = readDataset(view, pos + 8, itemEnd, explicit, depth);
      items.push(ds.map);
      pos = length === UNDEFINED ? ds.end : itemEnd;
    }
    if (undefinedLength) throw new DicomError('a sequence is not closed');
    return { items: items, end: pos };
  }

  function Values(view, map) {
    this.view = view;
    this.map = map;
  }
  Values.prototype.has = function (key) { return !!this.map[key]; };
  Values.prototype.text = function (key) {
    var v = this.map[key];
    if (!v || v.items) return '';
    var s = '';
    for (var i = 0; i < v.length; i++) s += String.fromCharCode(this.view.getUint8(v.offset + i));
    return s.replace(/[\0 ]+$/, '').replace(/^ +/, '');
  };
  Values.prototype.numbers = function (key) {
    var t = this.text(key);
    if (!t) return [];
    return t.split('\\').map(function (x) { return parseFloat(x); });
  };
  Values.prototype.number = function (key) {
    var n = this.numbers(key);
    return n.length && isFinite(n[0]) ? n[0] : null;
  };
  Values.prototype.words = function (key, signed) {
    var v = this.map[key];
    if (!v || v.items) return [];
    var out = [];
    for (var i = 0; i + 1 < v.length; i += 2) {
      out.push(signed ? this.view.getInt16(v.offset + i, true) : this.view.getUint16(v.offset + i, true));
    }
    return out;
  };
  Values.prototype.us = function (key) {
    var w = this.words(key, false);
    return w.length ? w[0] : null;
  };
  Values.prototype.item = function (key, n) {
    var v = this.map[key];
    return v && v.items && v.items[n || 0] ? new Values(this.view, v.items[n || 0]) : null;
  };
  Values.prototype.items = function (key) {
    var v = this.map[key];
    var view = this.view;
    return v && v.items ? v.items.map(function (m) { return new Values(view, m); }) : [];
  };

  // A LUT (PS3.3 C.11.1.1): descriptor (entries, first mapped value, bits) and data, read
  // by the rules dcmdisc's renderer uses (crates/render lut.rs), so both give the same
  // values: 8-bit entries in words or in bytes, a first value signed when the VR or the
  // context says so. Null when there is no such LUT; a refusal when it does not parse.
  function readLut(vals, descKey, dataKey, signedContext) {
    var desc = vals.map[descKey];
    var v = vals.map[dataKey];
    if (!desc || desc.items || !v || v.items) return null;
    var d = vals.words(descKey, false);
    if (d.length < 3) throw new DicomError('a LUT descriptor has ' + d.length + ' values');
    var n = d[0] === 0 ? 65536 : d[0];
    var first = signedContext || desc.vr === 'SS' ? (d[1] << 16) >> 16 : d[1];
    var bits = d[2];
    var data = [];
    var i;
    if (v.length === n * 2) {
      data = vals.words(dataKey, false);
      if (bits === 8 && data.some(function (w) { return w > 255; })) {
        data = data.map(function (w) { return w >> 8; });
      }
    } else if (v.length === n || (v.length === n + 1 && n % 2 === 1)) {
      bits = Math.min(bits, 8);
      for (i = 0; i < n; i++) data.push(vals.view.getUint8(v.offset + i));
    } else {
      throw new DicomError('a LUT has ' + n + ' entries in its descriptor and ' + v.length + ' bytes of data');
    }
    if (bits < 1 || bits > 16) throw new DicomError('a LUT of ' + bits + ' bits per entry');
    return {
      first: first,
      data: data,
      max: Math.pow(2, bits) - 1,
      lookup: function (x) {
        var k = Math.round(x) - first;
        if (k < 0) k = 0;
        if (k > data.length - 1) k = data.length - 1;
        return data[k];
      }
    };
  }

  // The Window Center / Width pairs of `vals` (C.11.2.1.2: alternatives, the first the
  // default), a pair whose width its function does not allow left out.
  function windowsOf(vals) {
    if (!vals || !vals.has('00281050') || !vals.has('00281051')) return [];
    var fn = vals.text('00281056');
    if (fn !== 'LINEAR_EXACT' && fn !== 'SIGMOID') fn = 'LINEAR';
    var c = vals.numbers('00281050'), w = vals.numbers('00281051');
    var out = [];
    for (var i = 0; i < Math.min(c.length, w.length); i++) {
      var ok = isFinite(c[i]) && isFinite(w[i]) && (fn === 'LINEAR' ? w[i] >= 1 : w[i] > 0);
      if (ok) out.push({ center: c[i], width: w[i], fn: fn });
    }
    return out;
  }

  var PHOTOMETRICS = { MONOCHROME1: 1, MONOCHROME2: 1, RGB: 1, PALETTE_COLOR: 1, YBR_FULL: 1, YBR_FULL_422: 1 };

  // One picked file read for exact mode.
  function DicomImage(buffer) {
    var view = new DataView(buffer);
    if (buffer.byteLength < 132 || view.getUint32(128, false) !== 0x4449434d) {
      throw new DicomError('not a DICOM file');
    }
    var meta = readDataset(view, 132, buffer.byteLength, true, 0, true);
    var ts = new Values(view, meta.map).text('00020010');
    var explicit;
    if (ts === '1.2.840.10008.1.2.1') explicit = true;
    else if (ts === '1.2.840.10008.1.2') explicit = false;
    else throw new DicomError('the transfer syntax ' + ts + ' is not read here');
    var v = new Values(view, readDataset(view, meta.end, buffer.byteLength, explicit, 0).map);
    this.v = v;
    this.uid = new Values(view, meta.map).text('00020003');
    this.rows = v.us('00280010');
    this.columns = v.us('00280011');
    this.samples = v.us('00280002') || 1;
    this.bitsAllocated = v.us('00280100');
    this.bitsStored = v.us('00280101') || this.bitsAllocated;
    this.highBit = v.has('00280102') ? v.us('00280102') : this.bitsStored - 1;
    this.signed = v.us('00280103') === 1;
    this.planar = v.us('00280006') === 1;
    this.photometric = v.text('00280004').replace(' ', '_');
    this.frames = Math.max(1, parseInt(v.text('00280008'), 10) || 1);
    if (!this.rows || !this.columns) throw new DicomError('the image has no size');
    if (!PHOTOMETRICS[this.photometric]) throw new DicomError(this.photometric + ' is not drawn here');
    if (this.bitsAllocated !== 8 && this.bitsAllocated !== 16) {
      throw new DicomError(this.bitsAllocated + '-bit pixels are not drawn here');
    }
    var colour = !(this.photometric === 'MONOCHROME1' || this.photometric === 'MONOCHROME2' ||
      this.photometric === 'PALETTE_COLOR');
    if (this.samples !== (colour ? 3 : 1)) {
      throw new DicomError(this.samples + ' samples per pixel do not fit ' + this.photometric);
    }
    if (!(this.bitsStored >= 1 && this.bitsStored <= this.bitsAllocated &&
          this.highBit >= this.bitsStored - 1 && this.highBit < this.bitsAllocated)) {
      throw new DicomError('Bits Stored and High Bit do not fit Bits Allocated');
    }
    var px = v.map['7fe00010'];
    if (!px || px.items) throw new DicomError('no pixel data');
    this.pixels = px.offset;
    var perPixel = this.photometric === 'YBR_FULL_422' ? 2 : this.samples;
    this.frameLength = this.rows * this.columns * perPixel * (this.bitsAllocated / 8);
    if (px.length < this.frameLength * this.frames) throw new DicomError('the pixel data are short');
    this.view = view;
    this.gray = this.photometric === 'MONOCHROME1' || this.photometric === 'MONOCHROME2';
    // Modality LUT (C.11.1): the Modality LUT Sequence, else rescale; enhanced objects
    // carry rescale in their shared Pixel Value Transformation.
    var modLut = v.item('00283000');
    var shared = v.item('52009229');
    var pvt = shared ? shared.item('00289145') : null;
    var slope = v.number('00281053');
    var intercept = v.number('00281052');
    if (slope === null && intercept === null && pvt) {
      slope = pvt.number('00281053');
      intercept = pvt.number('00281052');
    }
    this.slope = slope === null ? 1 : slope;
    this.intercept = intercept === null ? 0 : intercept;
    this.hasRescale = slope !== null || intercept !== null;
    this.modalityLut = modLut ? readLut(modLut, '00283002', '00283006', this.signed) : null;
    // Enhanced objects: a frame's own Pixel Value Transformation overrides (as dcmdisc's
    // renderer reads them).
    this.frameRescale = v.items('52009230').map(function (g) {
      var t = g.item('00289145');
      if (!t) return null;
      var s = t.number('00281053'), i = t.number('00281052');
      return s === null && i === null ? null : { slope: s === null ? 1 : s, intercept: i === null ? 0 : i };
    });
    var negative = this.signed || this.intercept < 0 || this.slope < 0;
    var luts = v.items('00283010').map(function (it) {
      var l = readLut(it, '00283002', '00283006', negative);
      return l ? { lut: l } : null;
    }).filter(function (l) { return l; });
    // The alternative views, in dcmdisc's order (so a preset's index means the same as in
    // SERIES.TXT): the windows, else the shared Frame VOI LUT's, then the VOI LUTs; a
    // frame's own Frame VOI LUT replaces them for that frame.
    var top = windowsOf(v);
    var sharedVoi = shared ? shared.item('00289132') : null;
    this.presetList = this.gray ? (top.length ? top : windowsOf(sharedVoi)).concat(luts) : [];
    this.framePresets = v.items('52009230').map(function (g) {
      var own = windowsOf(g.item('00289132'));
      return own.length ? own : null;
    });
    this.invert = this.gray && (this.photometric === 'MONOCHROME1' || v.text('20500020') === 'INVERSE');
    var padValue = v.has('00280120') ? v.words('00280120', this.signed || v.map['00280120'].vr === 'SS')[0] : null;
    var padLimit = v.has('00280121') ? v.words('00280121', this.signed || v.map['00280121'].vr === 'SS')[0] : padValue;
    this.padding = padValue === null ? null : [Math.min(padValue, padLimit), Math.max(padValue, padLimit)];
    if (this.photometric === 'PALETTE_COLOR') {
      var self = this;
      this.palette = ['1', '2', '3'].map(function (c) {
        return readLut(v, '0028110' + c, '0028120' + c, self.signed);
      });
      if (this.palette.some(function (l) { return !l; })) {
        throw new DicomError('this palette (segmented or missing) is not drawn here');
      }
    }
  }

  // The stored value of pixel (x, y) of `frame`: masked to Bits Stored, sign-extended.
  DicomImage.prototype.stored = function (frame, x, y, sample) {
    var i = y * this.columns + x;
    var at = this.pixels + frame * this.frameLength;
    var raw;
    if (this.bitsAllocated === 8) {
      raw = this.view.getUint8(at + i * this.samples + (sample || 0));
    } else {
      raw = this.view.getUint16(at + (i * this.samples + (sample || 0)) * 2, true);
    }
    var shift = this.highBit + 1 - this.bitsStored;
    var value = (raw >>> shift) & (Math.pow(2, this.bitsStored) - 1);
    if (this.signed && value >= Math.pow(2, this.bitsStored - 1)) value -= Math.pow(2, this.bitsStored);
    return value;
  };

  DicomImage.prototype.modality = function (stored, frame) {
    var own = this.frameRescale[frame || 0];
    if (own) return stored * own.slope + own.intercept;
    if (this.modalityLut) return this.modalityLut.lookup(stored);
    return stored * this.slope + this.intercept;
  };

  // The presets of `frame` (windows {center, width, fn} or LUTs {lut}).
  DicomImage.prototype.presets = function (frame) {
    return this.framePresets[frame || 0] || this.presetList;
  };

  // The VOI of preset `n` of `frame`, else (no such preset) the automatic window.
  DicomImage.prototype.voi = function (frame, n) {
    return this.presets(frame)[n || 0] || this.minMax(frame);
  };

  DicomImage.prototype.isPadding = function (stored) {
    return this.padding !== null && stored >= this.padding[0] && stored <= this.padding[1];
  };

  // The modality value at (x, y), or null for padding (as dcmdisc's renderer says it).
  DicomImage.prototype.valueAt = function (frame, x, y) {
    var s = this.stored(frame, x, y);
    return this.isPadding(s) ? null : this.modality(s, frame);
  };

  // The automatic window: the frame's modality range, padding left out (as the JPEGs).
  DicomImage.prototype.minMax = function (frame) {
    var lo = Infinity, hi = -Infinity, alo = Infinity, ahi = -Infinity;
    for (var y = 0; y < this.rows; y++) {
      for (var x = 0; x < this.columns; x++) {
        var s = this.stored(frame, x, y);
        if (s < alo) alo = s;
        if (s > ahi) ahi = s;
        if (this.isPadding(s)) continue;
        if (s < lo) lo = s;
        if (s > hi) hi = s;
      }
    }
    if (lo > hi) { lo = alo; hi = ahi; }
    var a = this.modality(lo, frame), b = this.modality(hi, frame);
    if (this.modalityLut && !this.frameRescale[frame]) {
      a = Infinity; b = -Infinity;
      for (var k = lo; k <= hi; k++) {
        var m = this.modality(k, frame);
        if (m < a) a = m;
        if (m > b) b = m;
      }
    }
    var min = Math.min(a, b), max = Math.max(a, b);
    return { center: (min + max + 1) / 2, width: Math.max(1, max - min + 1), fn: 'LINEAR' };
  };

  // PS3.3 C.11.2.1.2 and C.11.2.1.3: the window as a fraction of the output range.
  function applyWindow(x, c, w, fn) {
    if (fn === 'SIGMOID') return 1 / (1 + Math.exp(-4 * (x - c) / w));
    if (fn === 'LINEAR_EXACT') {
      if (x <= c - w / 2) return 0;
      if (x > c + w / 2) return 1;
      return (x - c) / w + 0.5;
    }
    var cc = c - 0.5, half = (w - 1) / 2;
    if (x <= cc - half) return 0;
    if (x > cc + half) return 1;
    if (w <= 1) return 1;
    return (x - cc) / (w - 1) + 0.5;
  }

  function clamp8(v) { return v < 0 ? 0 : v > 255 ? 255 : Math.round(v); }

  // Draws `frame` into `image` (an ImageData of the file's size) at `voi`: a window
  // {center, width, fn} or a LUT {lut}.
  DicomImage.prototype.draw = function (frame, voi, image) {
    var out = image.data;
    var n = this.rows * this.columns;
    var i, o;
    if (this.gray) {
      // One table per stored value range would be faster for 16 bits; a pass per pixel is
      // quick enough for CT and MR sizes.
      var cache = {};
      for (i = 0; i < n; i++) {
        var x = i % this.columns, y = (i - x) / this.columns;
        var s = this.stored(frame, x, y);
        var g = cache[s];
        if (g === undefined) {
          var m = this.modality(s, frame);
          var f;
          if (voi.lut) f = voi.lut.lookup(m) / voi.lut.max;
          else f = applyWindow(m, voi.center, voi.width, voi.fn);
          // Rounded, then inverted: as dcmdisc's renderer, to the same byte.
          g = clamp8(f * 255);
          if (this.invert) g = 255 - g;
          cache[s] = g;
        }
        o = i * 4;
        out[o] = out[o + 1] = out[o + 2] = g;
        out[o + 3] = 255;
      }
      return;
    }
    var at = this.pixels + frame * this.frameLength;
    var view = this.view;
    var eight = this.bitsAllocated === 8;
    var sample = function (k) { return eight ? view.getUint8(at + k) : view.getUint16(at + 2 * k, true) >> 8; };
    for (i = 0; i < n; i++) {
      var r, gg, b;
      if (this.photometric === 'PALETTE_COLOR') {
        var st = this.stored(frame, i % this.columns, Math.floor(i / this.columns));
        var p = this.palette;
        var scale = function (l, v) { return l.max > 255 ? v >> 8 : v; };
        r = scale(p[0], p[0].lookup(st));
        gg = scale(p[1], p[1].lookup(st));
        b = scale(p[2], p[2].lookup(st));
      } else if (this.photometric === 'YBR_FULL_422') {
        var pair = i - (i % 2);
        var base = pair * 2;
        var yy = sample(base + (i % 2));
        var cb = sample(base + 2), cr = sample(base + 3);
        r = yy + 1.402 * (cr - 128);
        gg = yy - 0.344136 * (cb - 128) - 0.714136 * (cr - 128);
        b = yy + 1.772 * (cb - 128);
      } else {
        var c0, c1, c2;
        if (this.planar) { c0 = sample(i); c1 = sample(n + i); c2 = sample(2 * n + i); }
        else { c0 = sample(3 * i); c1 = sample(3 * i + 1); c2 = sample(3 * i + 2); }
        if (this.photometric === 'YBR_FULL') {
          r = c0 + 1.402 * (c2 - 128);
          gg = c0 - 0.344136 * (c1 - 128) - 0.714136 * (c2 - 128);
          b = c0 + 1.772 * (c1 - 128);
        } else { r = c0; gg = c1; b = c2; }
      }
      o = i * 4;
      out[o] = clamp8(r);
      out[o + 1] = clamp8(gg);
      out[o + 2] = clamp8(b);
      out[o + 3] = 255;
    }
  };

  // The Media Storage SOP Instance UID of a picked file, from its first bytes.
  function uidOf(file) {
    return file.slice(0, 16384).arrayBuffer().then(function (buffer) {
      var view = new DataView(buffer);
      if (buffer.byteLength < 140 || view.getUint32(128, false) !== 0x4449434d) return null;
      try {
        var meta = readDataset(view, 132, buffer.byteLength, true, 0, true);
        return new Values(view, meta.map).text('00020003') || null;
      } catch (e) {
        return null;
      }
    }, function () { return null; });
  }

  // ------------------------------------------------------------------ the viewer

  function Viewer(series) {
    this.frames = framesOf(series);
    this.presets = presetList(this.frames);
    this.frame = 0;
    this.preset = 0;
    this.mode = 'jpeg';
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.brightness = 1;
    this.contrast = 1;
    this.measuring = null;
    this.marks = [];
    this.cine = null;
    this.files = {};
    this.decoded = {};
    this.decodedOrder = [];
    this.exactVoi = null;
    this.preloaded = {};
  }

  Viewer.prototype.build = function () {
    var self = this;
    var box = styled(el('div', { id: 'dv-viewer' }), {
      background: '#111', color: '#eee', padding: '8px', margin: '8px 0',
      fontFamily: 'sans-serif', fontSize: '14px', maxWidth: '1100px'
    });
    var bar = styled(el('div'), { marginBottom: '6px', lineHeight: '2' });
    var button = function (id, text, title) {
      var b = styled(el('button', { type: 'button', title: title }, text), { marginRight: '4px' });
      if (id) b.id = id;
      return b;
    };
    this.presetButtons = this.presets.map(function (p, i) {
      var b = button(null, p.label, 'Window: ' + p.label + ' (key ' + (i + 1) + ')');
      b.className = 'dv-preset';
      b.setAttribute('data-preset', String(i));
      b.addEventListener('click', function () { self.setPreset(i); });
      bar.appendChild(b);
      return b;
    });
    this.cineButton = button('dv-cine', 'Play', 'Play the frames (Space)');
    this.cineButton.addEventListener('click', function () { self.toggleCine(); });
    var reset = button('dv-reset', 'Reset', 'Zoom, pan, brightness and contrast back to the start');
    reset.addEventListener('click', function () { self.resetView(); });
    var measure = button('dv-measure', 'Measure', 'Click two points on the image');
    measure.addEventListener('click', function () {
      self.measuring = [];
      self.marks = [];
      self.distance.textContent = 'click two points';
      self.drawMarks();
    });
    bar.appendChild(this.cineButton);
    bar.appendChild(reset);
    bar.appendChild(measure);
    this.distance = styled(el('span', { id: 'dv-distance' }, ''), { marginRight: '12px' });
    bar.appendChild(this.distance);
    var pickLabel = el('label', { 'for': 'dv-pick', title: 'Choose the disc (or its DICOM folder) to see the images exactly as stored, with the value under the cursor' }, 'Exact mode: choose the disc folder ');
    this.pick = el('input', { id: 'dv-pick', type: 'file', webkitdirectory: '', multiple: '' });
    this.pick.addEventListener('change', function () { self.loadFiles(self.pick.files); });
    bar.appendChild(pickLabel);
    bar.appendChild(this.pick);
    this.modeText = styled(el('span', { id: 'dv-mode' }, 'jpeg'), { marginLeft: '8px', color: '#9cf' });
    bar.appendChild(this.modeText);
    var help = el('a', { href: this.base + 'HELP.HTM' }, 'Help');
    styled(help, { color: '#9cf', marginLeft: '12px' });
    bar.appendChild(help);
    box.appendChild(bar);
    this.bar = bar;

    var size = this.stageSize();
    this.stage = styled(el('div', { id: 'dv-stage', tabindex: '0' }), {
      position: 'relative', overflow: 'hidden', background: '#000', width: size.w + 'px',
      height: size.h + 'px', cursor: 'crosshair', userSelect: 'none', outline: 'none'
    });
    this.image = styled(el('img', { id: 'dv-image', alt: 'Current frame' }), {
      position: 'absolute', left: '0', top: '0', transformOrigin: '0 0', maxWidth: 'none',
      imageRendering: 'auto'
    });
    this.image.draggable = false;
    this.canvas = styled(el('canvas', { id: 'dv-canvas' }), {
      position: 'absolute', left: '0', top: '0', transformOrigin: '0 0', display: 'none'
    });
    // Exact mode shows the stored pixels: enlarged as squares, not blurred into each other.
    this.canvas.style.imageRendering = 'pixelated';
    this.marksCanvas = styled(el('canvas', { width: String(size.w), height: String(size.h) }), {
      position: 'absolute', left: '0', top: '0', pointerEvents: 'none'
    });
    var shadow = '0 0 3px #000, 0 0 2px #000';
    this.annot = styled(el('div', { id: 'dv-annot' }), {
      position: 'absolute', left: '6px', top: '4px', pointerEvents: 'none', textShadow: shadow,
      whiteSpace: 'pre', lineHeight: '1.3'
    });
    this.corner = styled(el('div'), {
      position: 'absolute', right: '6px', bottom: '4px', pointerEvents: 'none', textShadow: shadow,
      textAlign: 'right', whiteSpace: 'pre'
    });
    this.frameText = el('span', { id: 'dv-frame' }, '');
    this.valueText = el('span', { id: 'dv-value' }, '');
    this.corner.appendChild(this.valueText);
    this.corner.appendChild(document.createTextNode('\n'));
    this.corner.appendChild(this.frameText);
    this.stage.appendChild(this.image);
    this.stage.appendChild(this.canvas);
    this.stage.appendChild(this.marksCanvas);
    this.stage.appendChild(this.annot);
    this.stage.appendChild(this.corner);
    // The orientation letters, at the middle of each edge.
    var edgeCss = {
      left: { left: '6px', top: '50%' }, right: { right: '6px', top: '50%' },
      top: { top: '4px', left: '50%' }, bottom: { bottom: '4px', left: '50%' }
    };
    this.edges = {};
    Object.keys(edgeCss).forEach(function (k) {
      var e = styled(el('div', { id: 'dv-orient-' + k }), {
        position: 'absolute', pointerEvents: 'none', textShadow: shadow, fontWeight: 'bold',
        color: '#ff9'
      });
      styled(e, edgeCss[k]);
      self.edges[k] = e;
      self.stage.appendChild(e);
    });
    box.appendChild(this.stage);

    this.slider = styled(el('input', {
      id: 'dv-slider', type: 'range', min: '1', max: String(this.frames.length), value: '1',
      'aria-label': 'Frame'
    }), { width: size.w + 'px', display: 'block', marginTop: '6px' });
    this.slider.addEventListener('input', function () { self.go(parseInt(self.slider.value, 10) - 1); });
    box.appendChild(this.slider);
    var note = styled(el('div', {}, 'Not for diagnosis: pictures for review. The DICOM files on this disc hold the images in full quality.'), { color: '#fc6', marginTop: '4px' });
    box.appendChild(note);
    this.box = box;
    this.listen();
  };

  // The stage: as wide as the page allows, and as high as the window leaves below the
  // viewer's top for the stage, the slider and the line under it, so the whole image, its
  // counter and the slider are in view once the viewer is at the top of the window.
  Viewer.prototype.stageSize = function () {
    var w = Math.min(Math.max(320, (document.body.clientWidth || 800) - 40), 1080);
    var bar = this.bar ? this.bar.offsetHeight : 60;
    var h = Math.min(w, Math.max(240, (window.innerHeight || 800) - bar - 90));
    return { w: Math.round(w), h: Math.round(h) };
  };

  Viewer.prototype.fit = function () {
    var size = this.stageSize();
    this.stage.style.width = size.w + 'px';
    this.stage.style.height = size.h + 'px';
    this.slider.style.width = size.w + 'px';
    this.marksCanvas.width = size.w;
    this.marksCanvas.height = size.h;
    this.layout();
  };

  // The size in image pixels of the current frame (the DICOM file's, not the JPEG's).
  Viewer.prototype.dims = function () {
    var e = this.frames[this.frame].entry;
    return { w: e.columns || e.width || 1, h: e.rows || e.height || 1 };
  };

  // Stage position of image pixel (0, 0) and the stage pixels per image pixel.
  Viewer.prototype.transform = function () {
    var d = this.dims();
    var sw = this.stage.clientWidth, sh = this.stage.clientHeight;
    var fit = Math.min(sw / d.w, sh / d.h);
    var s = fit * this.zoom;
    return { x: (sw - d.w * s) / 2 + this.panX, y: (sh - d.h * s) / 2 + this.panY, s: s };
  };

  Viewer.prototype.toImage = function (clientX, clientY) {
    var r = this.stage.getBoundingClientRect();
    var t = this.transform();
    return { x: (clientX - r.left - t.x) / t.s, y: (clientY - r.top - t.y) / t.s };
  };

  Viewer.prototype.layout = function () {
    var d = this.dims();
    var t = this.transform();
    var css = 'translate(' + t.x + 'px,' + t.y + 'px) scale(' + t.s + ')';
    this.image.style.width = d.w + 'px';
    this.image.style.height = d.h + 'px';
    this.image.style.transform = css;
    this.canvas.style.transform = css;
    this.image.style.filter = 'brightness(' + this.brightness + ') contrast(' + this.contrast + ')';
    this.drawMarks();
  };

  Viewer.prototype.show = function () {
    var fr = this.frames[this.frame];
    var name = jpegOf(fr, this.preset);
    if (this.image.getAttribute('src') !== name) this.image.setAttribute('src', name);
    this.slider.value = String(this.frame + 1);
    this.frameText.textContent = (this.frame + 1) + ' / ' + this.frames.length;
    this.presetButtons.forEach(function (b, i) {
      b.setAttribute('aria-pressed', i === this.preset ? 'true' : 'false');
      b.style.fontWeight = i === this.preset ? 'bold' : 'normal';
    }, this);
    this.annotate();
    this.layout();
    this.preload();
    this.saveState();
    if (this.mode === 'exact') this.drawExact();
    window.dcmdiscViewer.frame = this.frame;
    window.dcmdiscViewer.preset = this.preset;
    window.dcmdiscViewer.mode = this.mode;
  };

  Viewer.prototype.annotate = function () {
    var fr = this.frames[this.frame];
    var e = fr.entry;
    var lines = this.heading.slice();
    var inst = 'Instance ' + (e.number || '-');
    if (e.frames > 1) inst += ', frame ' + (fr.index + 1) + ' of ' + e.frames;
    lines.push(inst);
    var pos = e.positions ? e.positions[fr.index] : null;
    if (typeof pos === 'number') lines.push('Position ' + fmt(pos) + ' mm');
    var p = this.presets[this.preset];
    if (this.mode === 'exact' && this.exactVoi) {
      lines.push('Window C ' + fmt(this.exactVoi.center) + ' W ' + fmt(this.exactVoi.width) + ' (exact)');
    } else if (p) {
      lines.push('Window ' + p.label);
    }
    if (this.zoom !== 1) lines.push('Zoom ' + Math.round(this.zoom * 100) + ' %');
    lines.push('Not for diagnosis');
    this.annot.textContent = lines.join('\n');
    var letters = edgeLetters(e.orientation);
    Object.keys(this.edges).forEach(function (k) {
      this.edges[k].textContent = letters ? letters[k] : '';
    }, this);
  };

  Viewer.prototype.preload = function () {
    var keep = {};
    for (var k = -PRELOAD; k <= PRELOAD; k++) {
      var i = this.frame + k;
      if (i < 0 || i >= this.frames.length) continue;
      var name = jpegOf(this.frames[i], this.preset);
      keep[name] = this.preloaded[name] || (function () {
        var im = new Image();
        im.src = name;
        return im;
      })();
    }
    this.preloaded = keep;
  };

  Viewer.prototype.go = function (i) {
    if (!isFinite(i)) return;
    i = Math.max(0, Math.min(this.frames.length - 1, Math.round(i)));
    var changed = this.frames[i].entry !== this.frames[this.frame].entry;
    this.frame = i;
    if (changed) this.marks = [];
    this.show();
  };

  Viewer.prototype.setPreset = function (i) {
    if (i < 0 || i >= this.presets.length) return;
    this.preset = i;
    this.exactVoi = null;
    this.show();
  };

  Viewer.prototype.toggleCine = function () {
    var self = this;
    if (this.cine) {
      clearInterval(this.cine);
      this.cine = null;
      this.cineButton.textContent = 'Play';
      return;
    }
    this.cineButton.textContent = 'Stop';
    this.cine = setInterval(function () {
      self.go(self.frame + 1 >= self.frames.length ? 0 : self.frame + 1);
    }, 1000 / CINE_FPS);
  };

  Viewer.prototype.resetView = function () {
    this.zoom = 1;
    this.panX = this.panY = 0;
    this.brightness = this.contrast = 1;
    this.exactVoi = null;
    this.show();
  };

  Viewer.prototype.zoomBy = function (factor, clientX, clientY) {
    var before = clientX === undefined ? null : this.toImage(clientX, clientY);
    this.zoom = Math.max(0.1, Math.min(20, this.zoom * factor));
    if (before) {
      // Keep the pixel under the cursor where it is.
      var after = this.toImage(clientX, clientY);
      var t = this.transform();
      this.panX += (after.x - before.x) * t.s;
      this.panY += (after.y - before.y) * t.s;
    }
    this.show();
  };

  Viewer.prototype.drawMarks = function () {
    var c = this.marksCanvas;
    var g = c.getContext('2d');
    g.clearRect(0, 0, c.width, c.height);
    if (!this.marks.length) return;
    var t = this.transform();
    g.strokeStyle = '#ff0';
    g.fillStyle = '#ff0';
    g.lineWidth = 1.5;
    var pts = this.marks.map(function (p) { return { x: t.x + p.x * t.s, y: t.y + p.y * t.s }; });
    pts.forEach(function (p) { g.fillRect(p.x - 2, p.y - 2, 4, 4); });
    if (pts.length === 2) {
      g.beginPath();
      g.moveTo(pts[0].x, pts[0].y);
      g.lineTo(pts[1].x, pts[1].y);
      g.stroke();
    }
  };

  Viewer.prototype.measureClick = function (clientX, clientY) {
    var p = this.toImage(clientX, clientY);
    this.measuring.push(p);
    this.marks = this.measuring.slice();
    if (this.measuring.length === 2) {
      var a = this.measuring[0], b = this.measuring[1];
      var sp = this.frames[this.frame].entry.spacing;
      var dx = b.x - a.x, dy = b.y - a.y;
      if (sp) {
        var mm = Math.sqrt(Math.pow(dx * sp[1], 2) + Math.pow(dy * sp[0], 2));
        this.distance.textContent = mm.toFixed(1) + ' mm';
      } else {
        this.distance.textContent = Math.sqrt(dx * dx + dy * dy).toFixed(1) + ' px (no pixel spacing)';
      }
      this.measuring = null;
    }
    this.drawMarks();
  };

  Viewer.prototype.listen = function () {
    var self = this;
    var acc = 0;
    this.stage.addEventListener('wheel', function (ev) {
      ev.preventDefault();
      if (ev.ctrlKey) {
        self.zoomBy(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX, ev.clientY);
        return;
      }
      // A mouse notch is one frame; a touchpad's small deltas add up to one.
      var d = ev.deltaMode === 0 ? ev.deltaY : ev.deltaY * 40;
      acc += d;
      if (Math.abs(d) >= 20 || Math.abs(acc) >= 40) {
        self.go(self.frame + (acc > 0 ? 1 : -1));
        acc = 0;
      }
    }, { passive: false });
    var drag = null;
    this.stage.addEventListener('contextmenu', function (ev) { ev.preventDefault(); });
    this.stage.addEventListener('mousedown', function (ev) {
      self.stage.focus();
      if (self.measuring && ev.button === 0) {
        self.measureClick(ev.clientX, ev.clientY);
        return;
      }
      drag = {
        x: ev.clientX, y: ev.clientY, panX: self.panX, panY: self.panY,
        level: ev.button === 2 || ev.shiftKey,
        b: self.brightness, c: self.contrast,
        voi: self.mode === 'exact' && self.currentVoi() ? self.currentVoi() : null
      };
      ev.preventDefault();
    });
    window.addEventListener('mousemove', function (ev) {
      if (drag) {
        var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
        if (!drag.level) {
          self.panX = drag.panX + dx;
          self.panY = drag.panY + dy;
          self.layout();
        } else if (drag.voi && !drag.voi.lut) {
          var k = Math.max(drag.voi.width, 1) / 300;
          self.exactVoi = {
            center: drag.voi.center - dy * k,
            width: Math.max(1, drag.voi.width + dx * k),
            fn: drag.voi.fn
          };
          self.annotate();
          self.drawExact();
        } else {
          self.contrast = Math.max(0.1, drag.c * Math.exp(dx / 200));
          self.brightness = Math.max(0.1, drag.b * Math.exp(-dy / 200));
          self.layout();
        }
      }
      if (ev.target === self.stage || self.stage.contains(ev.target)) self.showValue(ev.clientX, ev.clientY);
    });
    window.addEventListener('mouseup', function () { drag = null; });
    document.addEventListener('keydown', function (ev) {
      var t = ev.target;
      if (t && t !== self.stage && t !== document.body && t !== self.slider &&
          !(t.tagName === 'BUTTON')) return;
      if (t === self.slider && /^(Arrow|Page|Home|End)/.test(ev.key)) return;
      var k = ev.key;
      var handled = true;
      if (k === 'ArrowDown' || k === 'ArrowRight') self.go(self.frame + 1);
      else if (k === 'ArrowUp' || k === 'ArrowLeft') self.go(self.frame - 1);
      else if (k === 'PageDown') self.go(self.frame + 10);
      else if (k === 'PageUp') self.go(self.frame - 10);
      else if (k === 'Home') self.go(0);
      else if (k === 'End') self.go(self.frames.length - 1);
      else if (k === '+' || k === '=') self.zoomBy(1.25);
      else if (k === '-') self.zoomBy(0.8);
      else if (k === ' ' && t !== self.cineButton) self.toggleCine();
      else if (/^[1-9]$/.test(k) && parseInt(k, 10) <= self.presets.length) self.setPreset(parseInt(k, 10) - 1);
      else handled = false;
      if (handled) ev.preventDefault();
    });
    window.addEventListener('resize', function () { self.fit(); });
    window.addEventListener('hashchange', function () { self.restoreState(); });
  };

  // ---- state in the page's #

  Viewer.prototype.saveState = function () {
    var self = this;
    // At most a few times a second: browsers throttle pages that navigate faster.
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(function () {
      self.saveTimer = null;
      var h = '#f=' + (self.frame + 1) + '&p=' + self.preset;
      if (location.hash !== h) {
        try {
          // replace: moving through a stack must not fill the Back button's history.
          self.savedHash = h;
          location.replace(h);
        } catch (e) { /* a browser that refuses keeps no state */ }
      }
    }, 250);
  };

  Viewer.prototype.restoreState = function () {
    // Our own write coming back as a hashchange: nothing to do (the state moved on since).
    if (this.savedHash && location.hash === this.savedHash) return;
    var m = /f=(\d+)/.exec(location.hash || '');
    var p = /p=(\d+)/.exec(location.hash || '');
    var frame = m ? parseInt(m[1], 10) - 1 : this.frame;
    var preset = p ? parseInt(p[1], 10) : this.preset;
    if (preset >= 0 && preset < this.presets.length) this.preset = preset;
    if (frame >= 0 && frame < this.frames.length) this.frame = frame;
    if (this.box) this.show();
  };

  // ---- exact mode

  Viewer.prototype.loadFiles = function (list) {
    var self = this;
    var wanted = {};
    this.frames.forEach(function (f) { wanted[f.entry.uid] = true; });
    var files = Array.prototype.slice.call(list || []);
    var found = 0;
    var next = 0;
    this.modeText.textContent = 'reading ' + files.length + ' files…';
    var worker = function () {
      if (next >= files.length) return Promise.resolve();
      var file = files[next++];
      return uidOf(file).then(function (uid) {
        if (uid && wanted[uid] && !self.files[uid]) {
          self.files[uid] = file;
          found++;
        }
        return worker();
      });
    };
    var workers = [];
    for (var i = 0; i < 8; i++) workers.push(worker());
    Promise.all(workers).then(function () {
      if (!found) {
        self.modeText.textContent = 'jpeg (none of the chosen files belongs to this series)';
        return;
      }
      self.mode = 'exact';
      self.modeText.textContent = 'exact';
      self.image.style.display = 'none';
      self.canvas.style.display = 'block';
      self.show();
    });
  };

  Viewer.prototype.decodedFor = function (entry) {
    var self = this;
    if (this.decoded[entry.uid]) return this.decoded[entry.uid];
    var file = this.files[entry.uid];
    if (!file) return Promise.reject(new DicomError('this image\'s file was not among the chosen ones'));
    var p = file.arrayBuffer().then(function (b) { return new DicomImage(b); });
    this.decoded[entry.uid] = p;
    this.decodedOrder.push(entry.uid);
    // Keep the files of about 24 instances in memory, the last used.
    while (this.decodedOrder.length > 24) delete self.decoded[this.decodedOrder.shift()];
    return p;
  };

  // The VOI of the current frame in exact mode: what the user dragged to, else the
  // chosen preset as the file itself gives it, else the automatic window.
  Viewer.prototype.currentVoi = function () {
    if (this.exactVoi) return this.exactVoi;
    var img = this.current;
    return img && img.gray ? img.voi(this.frames[this.frame].index, this.preset) : null;
  };

  Viewer.prototype.drawExact = function () {
    var self = this;
    var fr = this.frames[this.frame];
    var token = this.drawn = {};
    this.decodedFor(fr.entry).then(function (img) {
      if (self.drawn !== token || self.mode !== 'exact') return;
      var voi = self.exactVoi || (img.gray ? img.voi(fr.index, self.preset) : {});
      var c = self.canvas;
      if (c.width !== img.columns || c.height !== img.rows) {
        c.width = img.columns;
        c.height = img.rows;
      }
      c.style.width = img.columns + 'px';
      c.style.height = img.rows + 'px';
      var g = c.getContext('2d');
      var data = g.createImageData(img.columns, img.rows);
      img.draw(fr.index, voi, data);
      g.putImageData(data, 0, 0);
      self.current = img;
      self.layout();
    }).catch(function (e) {
      self.modeText.textContent = 'jpeg (exact mode: ' + (e && e.message ? e.message : 'this file could not be read') + ')';
      self.mode = 'jpeg';
      self.canvas.style.display = 'none';
      self.image.style.display = 'block';
      window.dcmdiscViewer.mode = 'jpeg';
    });
  };

  Viewer.prototype.showValue = function (clientX, clientY) {
    if (this.mode !== 'exact' || !this.current || !this.current.gray) return;
    var img = this.current;
    var p = this.toImage(clientX, clientY);
    var x = Math.floor(p.x), y = Math.floor(p.y);
    if (x < 0 || y < 0 || x >= img.columns || y >= img.rows) {
      this.valueText.textContent = '';
      return;
    }
    var fr = this.frames[this.frame];
    var v = img.valueAt(fr.index, x, y);
    var unit = fr.entry.modality === 'CT' && (img.hasRescale || img.modalityLut) ? ' HU' : '';
    this.valueText.setAttribute('data-x', String(x));
    this.valueText.setAttribute('data-y', String(y));
    this.valueText.setAttribute('data-value', v === null ? 'padding' : String(v));
    this.valueText.textContent = '(' + x + ', ' + y + ') ' + (v === null ? 'padding' : fmt(v) + unit);
  };

  // ------------------------------------------------------------------ start

  // The folder of this script, for its help page.
  function scriptBase() {
    var scripts = document.getElementsByTagName('script');
    for (var i = 0; i < scripts.length; i++) {
      var src = scripts[i].getAttribute('src') || '';
      if (/VIEWER\.TXT$/i.test(src)) return src.replace(/VIEWER\.TXT$/i, '');
    }
    return '../../../VIEWER/';
  }

  // The static frames of the page, hidden while the viewer shows them one at a time.
  function staticBlocks() {
    var blocks = [];
    var nodes = document.body.children;
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      var img = n.tagName === 'P' ? n.getElementsByTagName('img')[0] : null;
      if (img && FRAME_NAME.test(img.getAttribute('src') || '')) blocks.push(n);
    }
    return blocks;
  }

  function heading() {
    var lines = [];
    var h1 = document.getElementsByTagName('h1')[0];
    var ps = document.body.getElementsByTagName('p');
    for (var i = 0; i < ps.length && i < 4; i++) {
      var t = ps[i].textContent.replace(/\s+/g, ' ').trim();
      if (/^Patient:/.test(t)) lines.unshift(t.replace(/^Patient: /, ''));
      else if (/^Study \d+:/.test(t)) lines.push(t.replace(/\. Back to the study\.?$/, ''));
    }
    if (h1) lines.push(h1.textContent.trim());
    return lines;
  }

  function start() {
    var series = window.DCMDISC_SERIES;
    if (!series || !series.length || !framesOf(series).length) {
      root.setAttribute('data-viewer', 'static');
      return;
    }
    var v = new Viewer(series);
    v.base = scriptBase();
    v.heading = heading();
    window.dcmdiscViewer = { frame: 0, frames: v.frames.length, preset: 0, mode: 'jpeg' };
    v.build();
    var blocks = staticBlocks();
    var h2s = Array.prototype.slice.call(document.getElementsByTagName('h2'));
    var first = document.getElementsByTagName('h2')[0] || blocks[0] || null;
    document.body.insertBefore(v.box, first);
    // The list stays one click away (and is what a reader without scripts sees).
    var toggle = el('button', { type: 'button', id: 'dv-list' }, 'Show every frame as a list');
    var listShown = false;
    var setList = function (shown) {
      listShown = shown;
      blocks.concat(h2s).forEach(function (b) { b.style.display = shown ? '' : 'none'; });
      toggle.textContent = shown ? 'Hide the list of frames' : 'Show every frame as a list';
    };
    toggle.addEventListener('click', function () { setList(!listShown); });
    v.box.appendChild(toggle);
    setList(false);
    v.fit();
    v.restoreState();
    v.show();
    // The page's heading is repeated on the image: bring the viewer to the top of the window.
    if (v.box.scrollIntoView && window.innerHeight < v.box.getBoundingClientRect().bottom) {
      v.box.scrollIntoView();
    }
    root.setAttribute('data-viewer', 'ready');
  }

  function begin() {
    try {
      start();
    } catch (e) {
      // The static page stays as it was: take back whatever was added.
      var box = document.getElementById('dv-viewer');
      if (box && box.parentNode) box.parentNode.removeChild(box);
      var all = document.body.children;
      for (var i = 0; i < all.length; i++) all[i].style.display = '';
      root.setAttribute('data-viewer', 'failed');
      if (window.console && console.warn) console.warn('dcmdisc viewer: ' + (e && e.message ? e.message : e));
    }
  }

  // Outside a browser (the tests run the file reader under Node.js): the reader only.
  if (typeof document === 'undefined') {
    if (typeof module !== 'undefined') {
      module.exports = { DicomImage: DicomImage, DicomError: DicomError };
    }
    return;
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', begin);
  else begin();
})();

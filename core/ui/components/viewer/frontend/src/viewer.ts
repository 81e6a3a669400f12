// The viewer/editor: client-side slice cache, window/level, zoom/pan, rulers, mask editing with
// per-stroke undo, and the edit protocol (every value carries all unacknowledged edits).
import { Args, setFrameHeight, setValue } from "./streamlit";
import { ChunkInfo, EditMsg, MaskEntry, Meta, PromptMsg, SyncReply, newId, q } from "./protocol";
import { Box, Mask, copyBox, paintPolygon, paintStroke, pasteBox, rleDecode, sha256Hex, union } from "./raster";

type Pixels = Int16Array | Uint16Array | Float32Array | Uint8Array;
type Tool = "brush" | "eraser" | "polygon" | "box" | "click" | "wl" | "pan" | "length" | "area";
// [tool, button text (short: the toolbar wraps in narrow columns), full name, key]
const TOOLS: [Tool, string, string, string][] = [
  ["brush", "Brush", "Brush", "B"], ["eraser", "Eraser", "Eraser", "E"], ["polygon", "Polygon", "Polygon", "P"],
  ["box", "Box", "Box prompt", "X"], ["click", "Click", "Click prompt (Shift: negative)", "K"],
  ["wl", "W/L", "Window/level", "W"], ["pan", "Pan", "Pan", "M"], ["length", "Length", "Length ruler", "L"],
  ["area", "Area", "Area ruler", "A"],
];
const CROP_TOOLS: Tool[] = ["box", "wl", "pan"]; // crop mode: pick a box on one frame
const PREFETCH = 12;
const MAX_ZOOM = 16;
const ZOOM_LEVELS = [0.05, 0.1, 0.125, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16]; // + and - step through these
const TOOLBAR_H = 40; // one row; the toolbar wraps to more rows when the column is narrow
const STATUS_H = 26;

interface LocalStroke { id: string; label: string; frame: number; box: Box; before: Uint8Array; edit: EditMsg }
interface Measure { frame: number; kind: "length" | "area"; pts: number[] }

export class Viewer {
  meta: Meta | null = null;
  root: HTMLDivElement;
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
  status: HTMLDivElement;
  toolbar: HTMLDivElement;
  labelSelect: HTMLSelectElement;
  frames = new Map<number, Pixels>();
  server = new Map<string, { mask: Mask; sha: string; v: number }>(); // label|frame -> as stored by Python
  display = new Map<string, Mask>(); // label|frame -> server + pending edits, as shown
  pending: EditMsg[] = [];
  prompts: PromptMsg[] = [];
  sentIds = new Set<string>();
  ackedIds = new Set<string>();
  failedIds = new Set<string>();
  undoStack: LocalStroke[] = [];
  redoStack: LocalStroke[] = [];
  measures: Measure[] = [];
  epoch = "";
  maskSeq = 0;
  req = 0;
  frame = 0;
  label = "";
  tool: Tool = "brush";
  brush = 12;
  wc = 40; ww = 400;
  zoom = 1; panX = 0; panY = 0; fitted = false; userZoomed = false;
  imageCanvas = document.createElement("canvas");
  maskCanvas = document.createElement("canvas");
  imageKey = "";
  maskDirty = true;
  drawScheduled = false;
  cursor: [number, number] | null = null;
  drag: { kind: string; x: number; y: number; wc: number; ww: number; panX: number; panY: number; stroke?: LocalStroke; pts: number[] } | null = null;
  poly: number[] = [];
  lastError = "";
  cine: number | null = null;
  lastNeed = "";
  frameTimer: number | null = null;
  retryTimer: number | null = null;
  lastValueJson = "";
  n = 0; // number of the latest value sent
  echo: number | null = null; // the value number Python answered last
  strokes = 0; // shapes committed here (the bench waits for data-strokes-drawn)
  crop = false; // crop mode (meta.mode === "crop")
  cropBox: [number, number, number, number] | null = null; // x0, y0, x1, y1 in whole image pixels
  frameHeight = 0;

  constructor(root: HTMLDivElement) {
    this.root = root;
    root.setAttribute("data-testid", "medlens-viewer");
    root.tabIndex = 0;
    root.style.cssText = "font:13px system-ui,sans-serif;color:#e6edf3;background:#0b0e12;outline:none;user-select:none";
    this.toolbar = document.createElement("div");
    this.toolbar.style.cssText = `min-height:${TOOLBAR_H}px;box-sizing:border-box;padding:4px 0;display:flex;gap:4px;align-items:center;flex-wrap:wrap`;
    this.labelSelect = document.createElement("select");
    this.canvas = document.createElement("canvas");
    this.canvas.style.cssText = "display:block;width:100%;cursor:none;touch-action:none;background:#000";
    this.status = document.createElement("div");
    this.status.style.cssText = `height:${STATUS_H}px;line-height:${STATUS_H}px;white-space:nowrap;overflow:hidden;font-variant-numeric:tabular-nums`;
    root.append(this.toolbar, this.canvas, this.status);
    this.ctx = this.canvas.getContext("2d")!;
    this.bindEvents();
    this.updateAttrs();
    // a narrow column wraps the toolbar onto more rows: the iframe grows with it
    new ResizeObserver(() => this.fitFrame()).observe(this.toolbar);
  }

  /** Tell Streamlit the iframe's height: toolbar (one or more rows) + canvas + status line. */
  fitFrame(): void {
    if (!this.meta) return;
    const height = Math.max(TOOLBAR_H, this.toolbar.offsetHeight) + this.meta.height + STATUS_H;
    if (height !== this.frameHeight) { this.frameHeight = height; setFrameHeight(height); }
  }

  // ------------------------------------------------------------------ Python -> browser

  render(args: Args): void {
    const meta = args.meta as Meta | undefined;
    if (!meta) return;
    const before = this.meta;
    const first = !before || before.key !== meta.key;
    this.meta = meta;
    if (first) this.start(meta);
    else {
      // Python may ask to show another label or frame (e.g. the label a model run just wrote)
      if (meta.label !== before.label && meta.labels.some((l) => l.name === meta.label)) this.setLabel(meta.label);
      if (meta.frame !== before.frame) this.setFrame(meta.frame);
      if (this.crop && (meta.window[0] !== before.window[0] || meta.window[1] !== before.window[1])) {
        [this.wc, this.ww] = meta.window; // crop mode follows the page's window sliders
      }
      if (meta.labels.length !== before.labels.length) {
        this.labelSelect.replaceChildren(...meta.labels.map((l) => new Option(l.name, l.name, false, l.name === this.label)));
        this.maskDirty = true;
      }
    }
    const info = args.chunk_info as ChunkInfo | null;
    const bytes = args.chunk as Uint8Array | null;
    if (info && bytes) this.addChunk(info, bytes);
    const reply = args.sync as SyncReply | undefined;
    if (reply) this.applyReply(reply);
    this.requestFrames();
    this.invalidate();
  }

  start(meta: Meta): void {
    this.frames.clear(); this.server.clear(); this.display.clear();
    this.undoStack = []; this.redoStack = []; this.measures = []; this.maskSeq = 0;
    this.crop = meta.mode === "crop"; this.cropBox = null;
    this.buildToolbar();
    this.frame = Math.min(Math.max(0, meta.frame || 0), meta.shape[0] - 1);
    this.label = meta.label || (meta.labels[0] ? meta.labels[0].name : "");
    this.tool = (this.allowed(meta.tool as Tool) ? meta.tool : this.crop ? "box" : "brush") as Tool;
    this.brush = meta.brush || 12;
    [this.wc, this.ww] = meta.window;
    const [, h, w] = meta.shape;
    this.imageCanvas.width = w; this.imageCanvas.height = h;
    this.maskCanvas.width = w; this.maskCanvas.height = h;
    this.fitted = false; this.userZoomed = false;
    this.labelSelect.replaceChildren(...meta.labels.map((l) => new Option(l.name, l.name, false, l.name === this.label)));
    this.setTool(this.tool);
    const stored = this.crop ? null : localStorage.getItem(this.storageKey());
    if (stored) {
      try {
        const saved = JSON.parse(stored) as { edits: EditMsg[] };
        this.pending = saved.edits || [];
        for (const e of this.pending) this.sentIds.add(e.id);
      } catch { this.pending = []; }
    }
    this.fitFrame();
    this.resize();
    if (this.pending.length) this.pushValue();
  }

  storageKey(): string { return "medlens-viewer:" + (this.meta ? this.meta.key : ""); }

  addChunk(info: ChunkInfo, bytes: Uint8Array): void {
    const [, h, w] = this.meta!.shape;
    const per = info.dtype === "rgb8" ? h * w * 3 : h * w;
    const copy = bytes.slice().buffer; // aligned copy
    info.frames.forEach((f, i) => {
      if (this.frames.has(f)) return;
      let arr: Pixels;
      if (info.dtype === "int16") arr = new Int16Array(copy, i * per * 2, per);
      else if (info.dtype === "uint16") arr = new Uint16Array(copy, i * per * 2, per);
      else if (info.dtype === "float32") arr = new Float32Array(copy, i * per * 4, per);
      else arr = new Uint8Array(copy, i * per, per);
      this.frames.set(f, arr);
    });
  }

  applyReply(reply: SyncReply): void {
    this.echo = reply.echo;
    if (reply.epoch !== this.epoch) {
      this.epoch = reply.epoch;
      this.maskSeq = 0;
      if (this.pending.length) this.pushValue(); // a new server session: send unsaved edits again
    }
    const size = this.meta!.shape[1] * this.meta!.shape[2];
    let changed = false;
    for (const m of reply.masks as MaskEntry[]) {
      const key = m.label + "|" + m.frame;
      const have = this.server.get(key);
      if (have && have.v >= m.v && have.sha === m.sha) continue;
      this.server.set(key, { mask: rleDecode(m.rle, size), sha: m.sha, v: m.v });
      changed = true;
    }
    const ackedNow = reply.acked.filter((id) => this.pending.some((e) => e.id === id));
    const failed = Object.keys(reply.failed).filter((id) => this.pending.some((e) => e.id === id));
    for (const id of ackedNow) this.ackedIds.add(id);
    for (const id of failed) { this.failedIds.add(id); this.lastError = reply.failed[id]; }
    if (ackedNow.length || failed.length) {
      const gone = new Set([...ackedNow, ...failed]);
      this.pending = this.pending.filter((e) => !gone.has(e.id));
      this.savePending();
      changed = true;
    }
    const done = new Set(reply.promptsDone);
    if (this.prompts.some((p) => done.has(p.id))) { this.prompts = this.prompts.filter((p) => !done.has(p.id)); changed = true; }
    const seq = reply.masks.length ? Math.max(this.maskSeq, reply.seq) : this.maskSeq;
    if (changed) this.rebuildDisplay();
    if (seq !== this.maskSeq || ackedNow.length || failed.length) {
      this.maskSeq = seq;
      this.pushValue();
    }
  }

  // ------------------------------------------------------------------ browser -> Python

  value(): Record<string, unknown> {
    return {
      epoch: this.epoch, maskSeq: this.maskSeq, edits: this.pending, prompts: this.prompts,
      need: this.need(), frame: this.frame, label: this.label, req: this.req, n: this.n,
      ...(this.crop ? { box: this.cropBox } : {}),
    };
  }

  pushValue(): void {
    const json = JSON.stringify({ ...this.value(), n: 0 });
    if (json === this.lastValueJson) return;
    this.lastValueJson = json;
    this.n++;
    const value = this.value();
    for (const e of this.pending) this.sentIds.add(e.id);
    setValue(value);
    this.updateAttrs();
  }

  need(): number[] {
    if (!this.meta) return [];
    const n = this.meta.shape[0], out: number[] = [];
    for (let d = 0; d <= (this.crop ? 0 : PREFETCH); d++) {
      for (const f of d === 0 ? [this.frame] : [this.frame + d, this.frame - d]) {
        if (f >= 0 && f < n && !this.frames.has(f)) out.push(f);
      }
    }
    return out;
  }

  requestFrames(): void {
    const need = this.need();
    const key = need.join(",");
    if (key !== this.lastNeed) {
      this.lastNeed = key;
      if (need.length) this.pushValue();
    }
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    this.retryTimer = need.length ? window.setTimeout(() => { this.req++; this.pushValue(); }, 3000) : null;
  }

  savePending(): void {
    if (!this.meta) return;
    if (this.pending.length) localStorage.setItem(this.storageKey(), JSON.stringify({ edits: this.pending }));
    else localStorage.removeItem(this.storageKey());
  }

  addEdit(edit: EditMsg): void {
    this.pending.push(edit);
    this.savePending();
    this.pushValue();
  }

  // ------------------------------------------------------------------ masks

  key(label: string, frame: number): string { return label + "|" + frame; }

  displayMask(label: string, frame: number): Mask {
    const key = this.key(label, frame);
    let m = this.display.get(key);
    if (!m) {
      const [, h, w] = this.meta!.shape;
      const s = this.server.get(key);
      m = s ? s.mask.slice() : new Uint8Array(h * w);
      this.display.set(key, m);
    }
    return m;
  }

  /** Shown masks = Python's stored masks + the edits not yet acknowledged, replayed in order. */
  rebuildDisplay(): void {
    this.display.clear();
    const [, h, w] = this.meta!.shape;
    const strokes = new Map(this.undoStack.concat(this.redoStack).map((s) => [s.id, s]));
    for (const e of this.pending) {
      if (e.op === "undo" || e.op === "redo") {
        const target = e.target ? strokes.get(e.target) : undefined;
        if (!target) continue; // not ours (e.g. a model run): shown once Python answers
        const m = this.displayMask(target.label, target.frame);
        if (e.op === "undo") pasteBox(m, w, target.box, target.before);
        else this.paintEdit(m, h, w, target.edit);
        continue;
      }
      this.paintEdit(this.displayMask(e.label!, e.frame!), h, w, e);
    }
    this.maskDirty = true;
    this.invalidate();
  }

  paintEdit(m: Mask, h: number, w: number, e: EditMsg): Box | null {
    const value = e.op === "erase" || e.op === "erase_polygon" ? 0 : 1;
    if (e.op === "brush" || e.op === "erase") return paintStroke(m, h, w, e.points!, e.radius!, value);
    return paintPolygon(m, h, w, e.points!, value);
  }

  commitShape(op: EditMsg["op"], pts: number[], radius?: number, before?: Uint8Array, box?: Box | null): void {
    const [, h, w] = this.meta!.shape;
    const edit: EditMsg = { id: newId(), op, label: this.label, frame: this.frame, points: pts };
    if (radius !== undefined) edit.radius = radius;
    const m = this.displayMask(this.label, this.frame);
    if (!before) {
      const copy = m.slice();
      box = this.paintEdit(m, h, w, edit);
      before = box ? copyBox(copy, w, box) : new Uint8Array(0);
    }
    const b = box || { r0: 0, r1: 0, c0: 0, c1: 0 };
    this.undoStack.push({ id: edit.id, label: this.label, frame: this.frame, box: b, before: box ? before : new Uint8Array(0), edit });
    this.redoStack = [];
    this.maskDirty = true;
    this.strokes++;
    this.addEdit(edit);
    this.invalidate();
  }

  undo(): void {
    const s = this.undoStack.pop();
    if (s) {
      pasteBox(this.displayMask(s.label, s.frame), this.meta!.shape[2], s.box, s.before);
      this.redoStack.push(s);
      this.maskDirty = true;
    }
    this.addEdit({ id: newId(), op: "undo", target: s ? s.id : undefined });
    this.invalidate();
  }

  redo(): void {
    const s = this.redoStack.pop();
    if (s) {
      const [, h, w] = this.meta!.shape;
      this.paintEdit(this.displayMask(s.label, s.frame), h, w, s.edit);
      this.undoStack.push(s);
      this.maskDirty = true;
    }
    this.addEdit({ id: newId(), op: "redo", target: s ? s.id : undefined });
    this.invalidate();
  }

  // ------------------------------------------------------------------ view geometry

  resize(): void {
    if (!this.meta) return;
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.max(100, this.root.clientWidth || window.innerWidth), ch = this.meta.height;
    this.canvas.style.height = ch + "px";
    this.canvas.width = Math.round(cw * dpr); this.canvas.height = Math.round(ch * dpr);
    if (!this.userZoomed) this.fit();
    this.invalidate();
  }

  viewSize(): [number, number] {
    const dpr = window.devicePixelRatio || 1;
    return [this.canvas.width / dpr, this.canvas.height / dpr];
  }

  /** Back to the image's own window/level, fitted (after W/L drags left it unreadable). */
  resetView(): void {
    if (!this.meta) return;
    [this.wc, this.ww] = this.meta.window;
    this.fit();
  }

  fit(): void {
    if (!this.meta) return;
    const [, h, w] = this.meta.shape, [vw, vh] = this.viewSize();
    this.zoom = Math.min(vw / w, vh / h);
    this.panX = (vw - w * this.zoom) / 2; this.panY = (vh - h * this.zoom) / 2;
    this.fitted = true; this.userZoomed = false;
    this.invalidate();
  }

  /** Zoom to `z` keeping the image point under screen (sx, sy) fixed. */
  zoomTo(z: number, sx?: number, sy?: number): void {
    const [vw, vh] = this.viewSize();
    sx = sx === undefined ? vw / 2 : sx; sy = sy === undefined ? vh / 2 : sy;
    z = Math.min(MAX_ZOOM, Math.max(0.02, z));
    const ix = (sx - this.panX) / this.zoom, iy = (sy - this.panY) / this.zoom;
    this.zoom = z; this.panX = sx - ix * z; this.panY = sy - iy * z;
    this.userZoomed = true;
    this.invalidate();
  }

  toImage(ev: { clientX: number; clientY: number }): [number, number, number, number] {
    const r = this.canvas.getBoundingClientRect();
    const sx = ev.clientX - r.left, sy = ev.clientY - r.top;
    return [(sx - this.panX) / this.zoom, (sy - this.panY) / this.zoom, sx, sy];
  }

  setFrame(f: number): void {
    if (!this.meta) return;
    const n = this.meta.shape[0];
    f = Math.min(n - 1, Math.max(0, f));
    if (f === this.frame) return;
    this.frame = f;
    this.maskDirty = true;
    this.invalidate();
    this.requestFrames();
    if (this.frameTimer !== null) window.clearTimeout(this.frameTimer);
    this.frameTimer = window.setTimeout(() => this.pushValue(), 400); // Python learns the frame shown
  }

  setLabel(label: string): void {
    this.label = label;
    this.labelSelect.value = label;
    this.maskDirty = true;
    this.pushValue();
    this.invalidate();
  }

  allowed(t: Tool): boolean {
    return this.crop ? CROP_TOOLS.includes(t) : TOOLS.some((x) => x[0] === t);
  }

  setTool(t: Tool): void {
    if (!this.allowed(t)) return;
    this.tool = t; this.poly = [];
    this.toolbar.querySelectorAll("button[data-tool]").forEach((b) => {
      (b as HTMLButtonElement).style.background = (b as HTMLElement).dataset.tool === t ? "#4fa3d9" : "#161b22";
    });
    this.invalidate();
  }

  // ------------------------------------------------------------------ drawing

  invalidate(): void {
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => { this.drawScheduled = false; this.draw(); });
  }

  renderImage(px: Pixels): void {
    const [, h, w] = this.meta!.shape;
    const key = `${this.frame}|${this.wc}|${this.ww}`;
    if (key === this.imageKey) return;
    this.imageKey = key;
    const ictx = this.imageCanvas.getContext("2d")!;
    const img = ictx.createImageData(w, h);
    const out = new Uint32Array(img.data.buffer);
    if (this.meta!.rgb) {
      for (let i = 0, j = 0; i < w * h; i++, j += 3) out[i] = 0xff000000 | (px[j + 2] << 16) | (px[j + 1] << 8) | px[j];
    } else {
      const lo = this.wc - this.ww / 2, scale = 255 / Math.max(1e-6, this.ww);
      if (px instanceof Int16Array || px instanceof Uint16Array) {
        const off = px instanceof Int16Array ? 32768 : 0;
        const lut = new Uint32Array(65536);
        for (let v = 0; v < 65536; v++) {
          const g = Math.max(0, Math.min(255, Math.round((v - off - lo) * scale)));
          lut[v] = 0xff000000 | (g << 16) | (g << 8) | g;
        }
        for (let i = 0; i < w * h; i++) out[i] = lut[px[i] + off];
      } else {
        for (let i = 0; i < w * h; i++) {
          const g = Math.max(0, Math.min(255, Math.round((px[i] - lo) * scale)));
          out[i] = 0xff000000 | (g << 16) | (g << 8) | g;
        }
      }
    }
    ictx.putImageData(img, 0, 0);
  }

  renderMasks(box?: Box | null): void {
    const [, h, w] = this.meta!.shape;
    const mctx = this.maskCanvas.getContext("2d")!;
    const b = box || { r0: 0, r1: h, c0: 0, c1: w };
    const bw = b.c1 - b.c0, bh = b.r1 - b.r0;
    if (bw <= 0 || bh <= 0) return;
    const img = mctx.createImageData(bw, bh);
    const out = new Uint32Array(img.data.buffer);
    for (const l of this.meta!.labels) {
      const m = this.display.get(this.key(l.name, this.frame)) || this.server.get(this.key(l.name, this.frame))?.mask;
      if (!m) continue;
      const c = parseInt(l.colour.replace("#", ""), 16);
      const alpha = l.name === this.label ? 0x73 : 0x4d;
      const rgba = (alpha << 24) | ((c & 0xff) << 16) | (c & 0xff00) | ((c >> 16) & 0xff);
      for (let r = 0; r < bh; r++) {
        const row = (r + b.r0) * w + b.c0, o = r * bw;
        for (let k = 0; k < bw; k++) if (m[row + k]) out[o + k] = rgba;
      }
    }
    mctx.putImageData(img, b.c0, b.r0);
  }

  draw(): void {
    if (!this.meta) return;
    const ctx = this.ctx, dpr = window.devicePixelRatio || 1;
    const [n, h, w] = this.meta.shape;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const px = this.frames.get(this.frame);
    if (px) {
      this.renderImage(px);
      if (this.maskDirty) {
        this.renderMasks(); this.maskDirty = false;
        // the stored mask of the current label now painted (set in the frame that paints it)
        const shown = this.server.get(this.key(this.label, this.frame));
        this.root.setAttribute("data-overlay-sha", shown ? shown.sha : this.meta.emptySha);
      }
      ctx.setTransform(dpr * this.zoom, 0, 0, dpr * this.zoom, dpr * this.panX, dpr * this.panY);
      ctx.imageSmoothingEnabled = this.zoom < 1;
      ctx.drawImage(this.imageCanvas, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.maskCanvas, 0, 0);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.drawOverlays(ctx, h, w);
    if (px) this.root.setAttribute("data-rendered-slice", String(this.frame + 1));
    this.root.setAttribute("data-strokes-drawn", String(this.strokes));
    const value = this.valueUnderCursor();
    const unsaved = this.crop ? (this.cropBox ? ` · box ${this.cropBox.join(", ")}` : " · drag a box")
      : this.pending.length ? ` · ${this.pending.length} unsaved` : " · saved";
    const err = this.lastError ? ` · refused: ${this.lastError}` : "";
    this.status.textContent = `slice ${this.frame + 1}/${n}${px ? "" : " (loading)"} · zoom ${Math.round(this.zoom * 100)}%`
      + ` · W ${Math.round(this.ww)} L ${Math.round(this.wc)}${value}${unsaved}${err}`;
    this.updateAttrs();
  }

  drawOverlays(ctx: CanvasRenderingContext2D, h: number, w: number): void {
    const s = (x: number, y: number): [number, number] => [this.panX + x * this.zoom, this.panY + y * this.zoom];
    ctx.lineWidth = 1.5;
    ctx.font = "12px system-ui,sans-serif";
    for (const m of this.measures.filter((m) => m.frame === this.frame)) this.drawMeasure(ctx, m, s);
    if (this.drag && (this.drag.kind === "length" || this.drag.kind === "box")) {
      const [x0, y0, x1, y1] = this.drag.pts;
      ctx.strokeStyle = this.crop ? "#ff8c00" : "#ffd600";
      if (this.drag.kind === "length") this.drawMeasure(ctx, { frame: this.frame, kind: "length", pts: [x0, y0, x1, y1] }, s);
      else { const [a, b] = s(x0, y0), [c, d] = s(x1, y1); ctx.strokeRect(a, b, c - a, d - b); }
    }
    if (this.poly.length) {
      ctx.strokeStyle = this.tool === "area" ? "#ffd600" : "#ffffff";
      ctx.beginPath();
      for (let i = 0; i < this.poly.length; i += 2) { const [a, b] = s(this.poly[i], this.poly[i + 1]); i ? ctx.lineTo(a, b) : ctx.moveTo(a, b); }
      if (this.cursor) { const [a, b] = s(this.cursor[0], this.cursor[1]); ctx.lineTo(a, b); }
      ctx.stroke();
    }
    if (this.cropBox) {
      const [x0, y0, x1, y1] = this.cropBox, [a, b] = s(x0, y0), [c, d] = s(x1, y1);
      ctx.strokeStyle = "#ff8c00"; ctx.fillStyle = "rgba(255,165,0,0.15)";
      ctx.fillRect(a, b, c - a, d - b); ctx.strokeRect(a, b, c - a, d - b);
      ctx.fillStyle = "#ff8c00";
      ctx.fillText(`${x1 - x0}×${y1 - y0} px at (${x0}, ${y0})`, a + 4, b - 6);
    }
    for (const p of this.prompts.filter((p) => p.frame === this.frame)) {
      ctx.strokeStyle = "#00e5ff";
      if (p.box) { const [a, b] = s(p.box[0], p.box[1]), [c, d] = s(p.box[2], p.box[3]); ctx.strokeRect(a, b, c - a, d - b); }
      if (p.point) { const [a, b] = s(p.point[0], p.point[1]); ctx.fillStyle = p.positive ? "#00e676" : "#ff1744"; ctx.beginPath(); ctx.arc(a, b, 5, 0, 7); ctx.fill(); }
    }
    if (this.cursor) {
      const [a, b] = s(this.cursor[0], this.cursor[1]);
      ctx.strokeStyle = this.tool === "eraser" ? "#ff6d00" : "#ffffff";
      ctx.beginPath();
      if (this.tool === "brush" || this.tool === "eraser") ctx.arc(a, b, Math.max(1, (this.brush / 2) * this.zoom), 0, 2 * Math.PI);
      else { ctx.moveTo(a - 7, b); ctx.lineTo(a + 7, b); ctx.moveTo(a, b - 7); ctx.lineTo(a, b + 7); }
      ctx.stroke();
    }
    void h; void w;
  }

  drawMeasure(ctx: CanvasRenderingContext2D, m: Measure, s: (x: number, y: number) => [number, number]): void {
    ctx.strokeStyle = "#ffd600"; ctx.fillStyle = "#ffd600";
    ctx.beginPath();
    for (let i = 0; i < m.pts.length; i += 2) { const [a, b] = s(m.pts[i], m.pts[i + 1]); i ? ctx.lineTo(a, b) : ctx.moveTo(a, b); }
    if (m.kind === "area") ctx.closePath();
    ctx.stroke();
    const [a, b] = s(m.pts[0], m.pts[1]);
    ctx.fillText(this.measureText(m), a + 6, b - 6);
  }

  measureText(m: Measure): string {
    const sp = this.meta!.spacing, sy = sp ? sp[0] : 1, sx = sp ? sp[1] : 1, unit = sp ? "mm" : "px";
    if (m.kind === "length") {
      const dx = (m.pts[2] - m.pts[0]) * sx, dy = (m.pts[3] - m.pts[1]) * sy;
      return `${Math.hypot(dx, dy).toFixed(1)} ${unit}`;
    }
    let area = 0;
    const n = m.pts.length / 2;
    for (let i = 0; i < n; i++) { const j = (i + 1) % n; area += m.pts[2 * i] * m.pts[2 * j + 1] - m.pts[2 * j] * m.pts[2 * i + 1]; }
    return `${(Math.abs(area) / 2 * sx * sy).toFixed(1)} ${unit}²`;
  }

  valueUnderCursor(): string {
    if (!this.cursor || !this.meta) return "";
    const [, h, w] = this.meta.shape;
    const c = Math.floor(this.cursor[0]), r = Math.floor(this.cursor[1]);
    const px = this.frames.get(this.frame);
    if (!px || c < 0 || r < 0 || c >= w || r >= h) return "";
    if (this.meta.rgb) { const i = 3 * (r * w + c); return ` · (${c}, ${r}) RGB ${px[i]} ${px[i + 1]} ${px[i + 2]}`; }
    const v = px[r * w + c];
    return ` · (${c}, ${r}) ${Number.isInteger(v) ? v : v.toFixed(2)}${this.meta.unit ? " " + this.meta.unit : ""}`;
  }

  updateAttrs(): void {
    const r = this.root, m = this.meta;
    r.setAttribute("data-slice", String(this.frame + 1));
    r.setAttribute("data-slices", String(m ? m.shape[0] : 0));
    r.setAttribute("data-cached", String(this.frames.size)); // slices held in the browser
    r.setAttribute("data-zoom", String(Math.round(this.zoom * 10000) / 10000));
    r.setAttribute("data-view", JSON.stringify([this.zoom, this.panX, this.panY])); // exact: image x = (clientX - canvas left - panX) / zoom
    r.setAttribute("data-tool", this.tool);
    r.setAttribute("data-label", this.label);
    r.setAttribute("data-edits-sent", String(this.sentIds.size));
    r.setAttribute("data-edits-acked", String(this.ackedIds.size));
    r.setAttribute("data-edits-failed", String(this.failedIds.size));
    r.setAttribute("data-pending", String(this.pending.length));
    r.setAttribute("data-synced", this.echo === this.n ? "1" : "0"); // Python has answered the latest value
    r.setAttribute("data-brush", String(this.brush));
    r.setAttribute("data-wl", `${this.wc},${this.ww}`);
    r.setAttribute("data-mode", this.crop ? "crop" : "edit");
    r.setAttribute("data-box", this.cropBox ? this.cropBox.join(",") : "");
    const s = m ? this.server.get(this.key(this.label, this.frame)) : undefined;
    r.setAttribute("data-mask-sha", s ? s.sha : m ? m.emptySha : "");
    this.updateScreenSha();
  }

  screenShaKey = "";
  updateScreenSha(): void {
    if (!this.meta || this.pending.length) return;
    const mask = this.display.get(this.key(this.label, this.frame)) || this.server.get(this.key(this.label, this.frame))?.mask;
    const s = this.server.get(this.key(this.label, this.frame));
    const key = `${this.label}|${this.frame}|${s ? s.sha : ""}|${this.undoStack.length}|${this.redoStack.length}`;
    if (key === this.screenShaKey) return;
    this.screenShaKey = key;
    const data = mask || new Uint8Array(this.meta.shape[1] * this.meta.shape[2]);
    sha256Hex(data).then((sha) => { if (this.screenShaKey === key) this.root.setAttribute("data-screen-sha", sha); });
  }

  // ------------------------------------------------------------------ input

  buildToolbar(): void {
    this.toolbar.replaceChildren();
    const button = (text: string, title: string, onClick: () => void, tool?: string): HTMLButtonElement => {
      const b = document.createElement("button");
      b.textContent = text; b.title = title;
      b.style.cssText = "background:#161b22;color:#e6edf3;border:1px solid #30363d;border-radius:4px;padding:4px 6px;cursor:pointer;font:12px system-ui;white-space:nowrap";
      if (tool) b.dataset.tool = tool;
      b.addEventListener("click", (e) => { e.preventDefault(); onClick(); this.root.focus(); });
      this.toolbar.append(b);
      return b;
    };
    for (const [t, text, name, keyName] of TOOLS) {
      if (this.allowed(t)) button(this.crop && t === "box" ? "Crop box" : text, `${name} (${keyName})`, () => this.setTool(t), t);
    }
    if (!this.crop) {
      button("Undo", "Undo (Ctrl+Z)", () => this.undo());
      button("Redo", "Redo (Ctrl+Shift+Z)", () => this.redo());
    }
    button("Fit", "Fit (0); R also resets window/level", () => this.fit());
    if (this.crop) return;
    button("Cine", "Play frames (C)", () => this.toggleCine());
    this.labelSelect.style.cssText = "background:#161b22;color:#e6edf3;border:1px solid #30363d;border-radius:4px;padding:3px;max-width:10em";
    this.labelSelect.title = "Label being edited";
    this.labelSelect.onchange = () => this.setLabel(this.labelSelect.value);
    this.toolbar.append(this.labelSelect);
  }

  toggleCine(): void {
    if (this.cine !== null) { window.clearInterval(this.cine); this.cine = null; return; }
    const n = this.meta ? this.meta.shape[0] : 1;
    if (n < 2) return;
    this.cine = window.setInterval(() => this.setFrame((this.frame + 1) % n === 0 ? 0 : this.frame + 1), 100);
  }

  bindEvents(): void {
    const c = this.canvas;
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("pointerdown", (e) => this.onDown(e));
    c.addEventListener("pointermove", (e) => this.onMove(e));
    c.addEventListener("pointerup", (e) => this.onUp(e));
    c.addEventListener("pointerleave", () => { this.cursor = null; this.invalidate(); });
    c.addEventListener("dblclick", (e) => { e.preventDefault(); this.closePolygon(); });
    c.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    this.root.addEventListener("keydown", (e) => this.onKey(e));
    c.addEventListener("pointerenter", () => this.root.focus({ preventScroll: true }));
    window.addEventListener("resize", () => this.resize());
  }

  onWheel(e: WheelEvent): void {
    e.preventDefault();
    if (!this.meta) return;
    const [, , sx, sy] = this.toImage(e);
    if (e.ctrlKey || e.metaKey || this.meta.shape[0] === 1 || this.crop) this.zoomTo(this.zoom * Math.pow(1.2, -Math.sign(e.deltaY)), sx, sy);
    else this.setFrame(this.frame + Math.sign(e.deltaY));
  }

  onKey(e: KeyboardEvent): void {
    const k = e.key, ctrl = e.ctrlKey || e.metaKey;
    if (this.crop && (ctrl || "cC[]".includes(k) || k.startsWith("Arrow") || k.startsWith("Page"))) return;
    if (ctrl && (k === "z" || k === "Z")) { e.shiftKey ? this.redo() : this.undo(); }
    else if (ctrl && (k === "y" || k === "Y")) this.redo();
    else if (ctrl) return;
    else if (k === "b" || k === "B") this.setTool("brush");
    else if (k === "e" || k === "E") this.setTool("eraser");
    else if (k === "p" || k === "P") this.setTool("polygon");
    else if (k === "x" || k === "X") this.setTool("box");
    else if (k === "k" || k === "K") this.setTool("click");
    else if (k === "w" || k === "W") this.setTool("wl");
    else if (k === "m" || k === "M") this.setTool("pan");
    else if (k === "l" || k === "L") this.setTool("length");
    else if (k === "a" || k === "A") this.setTool("area");
    else if (k === "c" || k === "C") this.toggleCine();
    else if (k === "+" || k === "=") this.zoomTo(ZOOM_LEVELS.find((z) => z > this.zoom * 1.001) || MAX_ZOOM, ...this.cursorScreen());
    else if (k === "-" || k === "_") this.zoomTo([...ZOOM_LEVELS].reverse().find((z) => z < this.zoom / 1.001) || 0.05, ...this.cursorScreen());
    else if (k === "0") this.fit();
    else if (k === "r" || k === "R") this.resetView();
    else if (k === "[") { this.brush = Math.max(1, this.brush - (this.brush > 10 ? 2 : 1)); this.invalidate(); }
    else if (k === "]") { this.brush = Math.min(512, this.brush + (this.brush >= 10 ? 2 : 1)); this.invalidate(); }
    else if (k === "ArrowDown" || k === "ArrowRight" || k === "PageDown") this.setFrame(this.frame + 1);
    else if (k === "ArrowUp" || k === "ArrowLeft" || k === "PageUp") this.setFrame(this.frame - 1);
    else if (k === "Enter") this.closePolygon();
    else if (k === "Escape") { this.poly = []; this.invalidate(); }
    else return;
    e.preventDefault();
  }

  cursorScreen(): [number | undefined, number | undefined] {
    if (!this.cursor) return [undefined, undefined];
    return [this.panX + this.cursor[0] * this.zoom, this.panY + this.cursor[1] * this.zoom];
  }

  onDown(e: PointerEvent): void {
    if (!this.meta) return;
    this.root.focus({ preventScroll: true });
    const [x, y] = this.toImage(e);
    const base = { x: e.clientX, y: e.clientY, wc: this.wc, ww: this.ww, panX: this.panX, panY: this.panY, pts: [q(x), q(y)] };
    let kind: string = this.tool;
    if (e.button === 2) kind = "wl";
    else if (e.button === 1) kind = "pan";
    else if (e.button !== 0) return;
    if (kind === "polygon" || kind === "area") { this.addPolyPoint(x, y, e); return; }
    if (kind === "click") {
      this.prompts.push({ id: newId(), kind: "click", label: this.label, frame: this.frame, point: [q(x), q(y)], positive: !e.shiftKey });
      this.pushValue(); this.invalidate(); return;
    }
    try { this.canvas.setPointerCapture(e.pointerId); } catch { /* synthetic events have no capturable pointer */ }
    this.drag = { kind, ...base };
    if (kind === "brush" || kind === "eraser") this.strokeStart();
  }

  strokeStart(): void {
    const [, h, w] = this.meta!.shape;
    const d = this.drag!;
    const m = this.displayMask(this.label, this.frame);
    const before = m.slice();
    const box = paintStroke(m, h, w, d.pts, this.brush / 2, d.kind === "eraser" ? 0 : 1);
    d.stroke = { id: "", label: this.label, frame: this.frame, box: box || { r0: 0, r1: 0, c0: 0, c1: 0 }, before, edit: { id: "", op: "brush" } };
    this.renderMasks(box); this.invalidate();
  }

  onMove(e: PointerEvent): void {
    if (!this.meta) return;
    const [x, y] = this.toImage(e);
    this.cursor = [x, y];
    const d = this.drag;
    if (d) {
      const dx = e.clientX - d.x, dy = e.clientY - d.y;
      if (d.kind === "wl") {
        const step = Math.max(d.ww, 1) / 256;
        this.ww = Math.max(1, d.ww + dx * step * 2); this.wc = d.wc + dy * step;
      } else if (d.kind === "pan") {
        this.panX = d.panX + dx; this.panY = d.panY + dy; this.userZoomed = true;
      } else if (d.kind === "brush" || d.kind === "eraser") {
        const qx = q(x), qy = q(y), n = d.pts.length;
        if (qx !== d.pts[n - 2] || qy !== d.pts[n - 1]) {
          const [, h, w] = this.meta.shape;
          const seg = paintStroke(this.displayMask(this.label, this.frame), h, w, [d.pts[n - 2], d.pts[n - 1], qx, qy], this.brush / 2, d.kind === "eraser" ? 0 : 1);
          d.pts.push(qx, qy);
          d.stroke!.box = union(d.stroke!.box.r1 > d.stroke!.box.r0 ? d.stroke!.box : null, seg) || d.stroke!.box;
          this.renderMasks(seg);
        }
      } else if (d.kind === "length" || d.kind === "box") {
        d.pts = [d.pts[0], d.pts[1], q(x), q(y)];
      }
    }
    this.invalidate();
  }

  onUp(e: PointerEvent): void {
    const d = this.drag;
    if (!d) return;
    this.drag = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    if (d.kind === "brush" || d.kind === "eraser") {
      const s = d.stroke!, w = this.meta!.shape[2];
      const hasBox = s.box.r1 > s.box.r0;
      const before = hasBox ? copyBox(s.before, w, s.box) : new Uint8Array(0);
      this.commitShape(d.kind === "eraser" ? "erase" : "brush", d.pts, this.brush / 2, before, hasBox ? s.box : null);
    } else if (d.kind === "length" && d.pts.length === 4) {
      this.measures.push({ frame: this.frame, kind: "length", pts: d.pts });
    } else if (d.kind === "box" && d.pts.length === 4 && this.crop) {
      this.setCropBox(d.pts);
    } else if (d.kind === "box" && d.pts.length === 4) {
      const [x0, y0, x1, y1] = d.pts;
      this.prompts.push({ id: newId(), kind: "box", label: this.label, frame: this.frame,
                          box: [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)] });
      this.pushValue();
    }
    this.invalidate();
  }

  /** Crop mode: the dragged rectangle rounded to whole pixel edges and kept inside the image. */
  setCropBox(pts: number[]): void {
    const [, h, w] = this.meta!.shape;
    const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, Math.round(v)));
    const x0 = clamp(Math.min(pts[0], pts[2]), w), x1 = clamp(Math.max(pts[0], pts[2]), w);
    const y0 = clamp(Math.min(pts[1], pts[3]), h), y1 = clamp(Math.max(pts[1], pts[3]), h);
    if (x1 - x0 < 1 || y1 - y0 < 1) return;
    this.cropBox = [x0, y0, x1, y1];
    this.pushValue();
  }

  addPolyPoint(x: number, y: number, e: PointerEvent): void {
    if (this.poly.length >= 6) {
      const sx = this.panX + this.poly[0] * this.zoom, sy = this.panY + this.poly[1] * this.zoom;
      const [, , px, py] = this.toImage(e);
      if (Math.hypot(px - sx, py - sy) < 8) { this.closePolygon(e.shiftKey); return; }
    }
    this.poly.push(q(x), q(y));
    this.invalidate();
  }

  closePolygon(erase = false): void {
    const pts = this.poly;
    this.poly = [];
    if (pts.length < 6) { this.invalidate(); return; }
    if (this.tool === "area") this.measures.push({ frame: this.frame, kind: "area", pts });
    else this.commitShape(erase ? "erase_polygon" : "polygon", pts);
    this.invalidate();
  }
}

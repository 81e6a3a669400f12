// Exact mask rasterisation, the same rule and float64 arithmetic as core/masks/raster.py:
// pixel (row, col) has its centre at (col + 0.5, row + 0.5); a stroke takes the centres within
// `radius` of a segment (dist2 <= r*r + 1e-9); a polygon the centres inside by the even-odd rule.

export type Mask = Uint8Array; // H*W, row-major, 0/1
export interface Box { r0: number; r1: number; c0: number; c1: number } // half-open

function pixelWindow(x0: number, y0: number, x1: number, y1: number, h: number, w: number): Box | null {
  const c0 = Math.max(0, Math.floor(x0 - 0.5)), c1 = Math.min(w, Math.ceil(x1 - 0.5) + 1);
  const r0 = Math.max(0, Math.floor(y0 - 0.5)), r1 = Math.min(h, Math.ceil(y1 - 0.5) + 1);
  return c0 >= c1 || r0 >= r1 ? null : { r0, r1, c0, c1 };
}

/** Set (value 1) or clear (value 0) the centres within `radius` of segment a-b; returns the
 *  touched window, or null. */
export function paintSegment(mask: Mask, h: number, w: number, ax: number, ay: number, bx: number, by: number,
                             radius: number, value: number): Box | null {
  const win = pixelWindow(Math.min(ax, bx) - radius, Math.min(ay, by) - radius,
                          Math.max(ax, bx) + radius, Math.max(ay, by) + radius, h, w);
  if (!win) return null;
  const dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy, r2 = radius * radius + 1e-9;
  for (let r = win.r0; r < win.r1; r++) {
    const py = r + 0.5 - ay;
    const row = r * w;
    for (let c = win.c0; c < win.c1; c++) {
      const px = c + 0.5 - ax;
      let d2: number;
      if (length2 > 0) {
        let t = (px * dx + py * dy) / length2;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = px - t * dx, ey = py - t * dy;
        d2 = ex * ex + ey * ey;
      } else {
        d2 = px * px + py * py;
      }
      if (d2 <= r2) mask[row + c] = value;
    }
  }
  return win;
}

/** A whole polyline (flat [x0, y0, x1, y1, ...]); a single point paints a disc. */
export function paintStroke(mask: Mask, h: number, w: number, pts: number[], radius: number, value: number): Box | null {
  let box: Box | null = null;
  const n = pts.length / 2;
  if (n === 1) return paintSegment(mask, h, w, pts[0], pts[1], pts[0], pts[1], radius, value);
  for (let i = 0; i + 1 < n; i++) {
    box = union(box, paintSegment(mask, h, w, pts[2 * i], pts[2 * i + 1], pts[2 * i + 2], pts[2 * i + 3], radius, value));
  }
  return box;
}

/** Even-odd fill of pixel centres, half-open edges (as core.masks.raster.fill_polygon). */
export function paintPolygon(mask: Mask, h: number, w: number, pts: number[], value: number): Box | null {
  const n = pts.length / 2;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, pts[2 * i]); x1 = Math.max(x1, pts[2 * i]);
    y0 = Math.min(y0, pts[2 * i + 1]); y1 = Math.max(y1, pts[2 * i + 1]);
  }
  const win = pixelWindow(x0, y0, x1, y1, h, w);
  if (!win) return null;
  const cols = win.c1 - win.c0;
  for (let r = win.r0; r < win.r1; r++) {
    const py = r + 0.5;
    const inside = new Uint8Array(cols);
    for (let i = 0; i < n; i++) {
      const j = (i - 1 + n) % n;
      const xa = pts[2 * i], ya = pts[2 * i + 1], xb = pts[2 * j], yb = pts[2 * j + 1];
      if (ya === yb) continue;
      if ((ya > py) === (yb > py)) continue;
      const xc = xa + (py - ya) * (xb - xa) / (yb - ya);
      for (let c = win.c0; c < win.c1; c++) if (c + 0.5 < xc) inside[c - win.c0] ^= 1;
    }
    const row = r * w;
    for (let k = 0; k < cols; k++) if (inside[k]) mask[row + win.c0 + k] = value;
  }
  return win;
}

export function union(a: Box | null, b: Box | null): Box | null {
  if (!a) return b;
  if (!b) return a;
  return { r0: Math.min(a.r0, b.r0), r1: Math.max(a.r1, b.r1), c0: Math.min(a.c0, b.c0), c1: Math.max(a.c1, b.c1) };
}

/** Decode run lengths (first run = 0s) into an H*W mask. */
export function rleDecode(runs: number[], size: number): Mask {
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < runs.length; i++) {
    const end = Math.min(size, pos + runs[i]);
    if (i % 2 === 1) out.fill(1, pos, end);
    pos = end;
  }
  return out;
}

export function copyBox(mask: Mask, w: number, box: Box): Uint8Array {
  const cols = box.c1 - box.c0, out = new Uint8Array((box.r1 - box.r0) * cols);
  for (let r = box.r0; r < box.r1; r++) out.set(mask.subarray(r * w + box.c0, r * w + box.c1), (r - box.r0) * cols);
  return out;
}

export function pasteBox(mask: Mask, w: number, box: Box, patch: Uint8Array): void {
  const cols = box.c1 - box.c0;
  for (let r = box.r0; r < box.r1; r++) mask.set(patch.subarray((r - box.r0) * cols, (r - box.r0 + 1) * cols), r * w + box.c0);
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as unknown as ArrayBuffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

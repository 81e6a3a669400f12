// What travels between the viewer and Python (see core/masks/sync.py and core/masks/edits.py).

export interface LabelInfo { name: string; colour: string }

export interface Meta {
  key: string;              // the document key: pending edits are kept in localStorage under it
  shape: [number, number, number];
  rgb: boolean;
  spacing: [number, number] | null; // mm per row, per column
  modality: string;
  unit: string;
  window: [number, number];  // centre, width in modality units
  labels: LabelInfo[];
  label: string;
  emptySha: string;
  frame: number;
  tool: string;
  brush: number;             // brush diameter in image pixels
  height: number;            // canvas height in CSS pixels
  mode?: "edit" | "crop";    // crop: one frame, a box to pick (value.box), no masks or edits
}

export interface MaskEntry { label: string; frame: number; v: number; rle: number[]; sha: string }

export interface SyncReply {
  epoch: string;
  seq: number;
  acked: string[];
  failed: Record<string, string>;
  masks: MaskEntry[];
  promptsDone: string[];
  echo: number | null; // the value number ("n") this reply answers
}

export interface ChunkInfo { frames: number[]; dtype: "int16" | "uint16" | "float32" | "rgb8" }

export interface EditMsg {
  id: string;
  op: "brush" | "erase" | "polygon" | "erase_polygon" | "undo" | "redo";
  label?: string;
  frame?: number;
  points?: number[];
  radius?: number;
  target?: string; // undo/redo: the local stroke it reverts (browser-side only; Python ignores it)
}

export interface PromptMsg {
  id: string;
  kind: "box" | "click";
  label: string;
  frame: number;
  box?: [number, number, number, number];
  point?: [number, number];
  positive?: boolean;
}

export function newId(): string {
  if (crypto && "randomUUID" in crypto) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

/** Image coordinates travel rounded to 1/64 pixel: exact in binary, short in JSON, and the
 *  browser rasterises the rounded value, so both sides see the same numbers. */
export function q(v: number): number {
  return Math.round(v * 64) / 64;
}

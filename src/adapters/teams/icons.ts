import { PNG } from 'pngjs';

/**
 * The two icons of the Teams app package, drawn in code so they can be regenerated and checked:
 * a 192x192 colour icon (full-bleed accent colour, white glyph) and a 32x32 outline icon
 * (white glyph on a transparent background, as Teams requires for the app bar).
 * The glyph is a VM screen with a power symbol: what the bot does.
 */

export const ACCENT = { r: 0x2f, g: 0x55, b: 0x97 };
export const ACCENT_HEX = '#2F5597';

type Shape = (x: number, y: number) => boolean;

/** Shapes in a unit square (0..1), so one glyph serves both sizes. */
const roundedRectRing = (x0: number, y0: number, x1: number, y1: number, r: number, w: number): Shape => {
  const inside = (x: number, y: number, a0: number, b0: number, a1: number, b1: number, rr: number) => {
    if (x < a0 || x > a1 || y < b0 || y > b1) return false;
    const cx = Math.min(Math.max(x, a0 + rr), a1 - rr);
    const cy = Math.min(Math.max(y, b0 + rr), b1 - rr);
    return (x - cx) ** 2 + (y - cy) ** 2 <= rr * rr;
  };
  return (x, y) => inside(x, y, x0, y0, x1, y1, r) && !inside(x, y, x0 + w, y0 + w, x1 - w, y1 - w, Math.max(r - w, 0));
};

const rect = (x0: number, y0: number, x1: number, y1: number): Shape => (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;

/** The power symbol: a ring open at the top and a bar through the gap. */
const power = (cx: number, cy: number, r: number, w: number): Shape => (x, y) => {
  const d = Math.hypot(x - cx, y - cy);
  const angle = Math.atan2(x - cx, cy - y); // 0 = straight up
  const ring = d <= r && d >= r - w && Math.abs(angle) > Math.PI / 5;
  const bar = Math.abs(x - cx) <= w / 2 && y >= cy - r - w * 0.2 && y <= cy - r * 0.15;
  return ring || bar;
};

function glyph(stroke: number): Shape {
  const screen = roundedRectRing(0.16, 0.2, 0.84, 0.7, 0.06, stroke);
  const stand = rect(0.46, 0.7, 0.54, 0.78);
  const foot = rect(0.32, 0.78, 0.68, 0.78 + stroke);
  const sym = power(0.5, 0.47, 0.15, stroke);
  return (x, y) => screen(x, y) || stand(x, y) || foot(x, y) || sym(x, y);
}

/** Anti-aliased coverage (0..1) of a shape over one pixel, by 4x4 supersampling. */
function coverage(shape: Shape, px: number, py: number, size: number): number {
  let hit = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (shape((px + (i + 0.5) / 4) / size, (py + (j + 0.5) / 4) / size)) hit++;
  return hit / 16;
}

export function drawColorIcon(size = 192): Buffer {
  const png = new PNG({ width: size, height: size });
  const g = glyph(0.055);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const c = coverage(g, x, y, size);
      const i = (y * size + x) * 4;
      png.data[i] = Math.round(ACCENT.r + (255 - ACCENT.r) * c);
      png.data[i + 1] = Math.round(ACCENT.g + (255 - ACCENT.g) * c);
      png.data[i + 2] = Math.round(ACCENT.b + (255 - ACCENT.b) * c);
      png.data[i + 3] = 255;
    }
  return PNG.sync.write(png);
}

export function drawOutlineIcon(size = 32): Buffer {
  const png = new PNG({ width: size, height: size });
  // Thicker strokes: at 32 px a thin line would vanish.
  const g = glyph(0.075);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      png.data[i] = png.data[i + 1] = png.data[i + 2] = 255;
      png.data[i + 3] = Math.round(255 * coverage(g, x, y, size));
    }
  return PNG.sync.write(png);
}

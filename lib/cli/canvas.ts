// A raster to draw the pictures on (anti-aliased lines and dots, rectangles, grey-scale images and
// 5×7 text), saved as PNG with pngjs, so the pictures need no native graphics library.
import { PNG } from 'pngjs';
import { ADVANCE, GLYPH_HEIGHT, glyph, textWidth } from './font';

export type Color = readonly [number, number, number];

export const BLACK: Color = [0, 0, 0];
export const WHITE: Color = [255, 255, 255];

export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly #png: PNG;

  constructor(width: number, height: number, background: Color = WHITE) {
    this.width = Math.round(width);
    this.height = Math.round(height);
    this.#png = new PNG({ width: this.width, height: this.height });
    this.rect(0, 0, this.width, this.height, background);
  }

  /** Paints `color` over pixel (x, y) with opacity `alpha`; pixels off the canvas are ignored. */
  blend(x: number, y: number, color: Color, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const data = this.#png.data;
    const i = (y * this.width + x) * 4;
    const a = Math.min(alpha, 1);
    for (let k = 0; k < 3; k++) data[i + k] = Math.round(data[i + k] * (1 - a) + color[k] * a);
    data[i + 3] = 255;
  }

  rect(x: number, y: number, w: number, h: number, color: Color): void {
    const [x0, y0] = [Math.round(x), Math.round(y)];
    for (let yy = y0; yy < y0 + Math.round(h); yy++) for (let xx = x0; xx < x0 + Math.round(w); xx++) this.blend(xx, yy, color);
  }

  /** A rectangle's outline, one pixel wide. */
  frame(x: number, y: number, w: number, h: number, color: Color): void {
    this.rect(x, y, w, 1, color);
    this.rect(x, y + h - 1, w, 1, color);
    this.rect(x, y, 1, h, color);
    this.rect(x + w - 1, y, 1, h, color);
  }

  /**
   * Connected line segments of `width` pixels. Coverage is the distance from each pixel to the
   * nearest segment, taken over the whole line before painting, so joints are not painted twice.
   */
  polyline(points: ReadonlyArray<readonly [number, number]>, color: Color, width = 1): void {
    const coverage = new Map<number, number>();
    const reach = width / 2 + 1;
    for (let s = 0; s + 1 < points.length; s++) {
      const [ax, ay] = points[s];
      const [bx, by] = points[s + 1];
      const [dx, dy] = [bx - ax, by - ay];
      const length2 = dx * dx + dy * dy;
      for (let y = Math.floor(Math.min(ay, by) - reach); y <= Math.ceil(Math.max(ay, by) + reach); y++) {
        for (let x = Math.floor(Math.min(ax, bx) - reach); x <= Math.ceil(Math.max(ax, bx) + reach); x++) {
          const [px, py] = [x + 0.5, y + 0.5];
          const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2));
          const distance = Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
          const c = Math.min(1, width / 2 + 0.5 - distance);
          const key = y * this.width + x;
          if (c > 0 && x >= 0 && x < this.width && c > (coverage.get(key) ?? 0)) coverage.set(key, c);
        }
      }
    }
    for (const [key, c] of coverage) this.blend(key % this.width, Math.floor(key / this.width), color, c);
  }

  /** A filled, anti-aliased circle. */
  disc(cx: number, cy: number, radius: number, color: Color, alpha = 1): void {
    for (let y = Math.floor(cy - radius - 1); y <= Math.ceil(cy + radius + 1); y++) {
      for (let x = Math.floor(cx - radius - 1); x <= Math.ceil(cx + radius + 1); x++) {
        const c = Math.min(1, radius + 0.5 - Math.hypot(x + 0.5 - cx, y + 0.5 - cy));
        if (c > 0) this.blend(x, y, color, c * alpha);
      }
    }
  }

  /** A grey-scale image of values in [0, 1] (1 is ink), each value drawn as a `scale`×`scale` block. */
  image(values: ArrayLike<number>, side: number, x: number, y: number, scale: number): void {
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const ink = Math.max(0, Math.min(1, values[r * side + c]));
        const grey = Math.round(255 * (1 - ink));
        this.rect(x + c * scale, y + r * scale, scale, scale, [grey, grey, grey]);
      }
    }
  }

  /** Text in the 5×7 font, `scale` canvas pixels per font pixel; `y` is the top of the letters. */
  text(text: string, x: number, y: number, color: Color, options: { scale?: number; align?: 'left' | 'center' | 'right' } = {}): void {
    const scale = options.scale ?? 2;
    const width = textWidth(text) * scale;
    const left = Math.round(options.align === 'center' ? x - width / 2 : options.align === 'right' ? x - width : x);
    [...text].forEach((ch, i) => {
      const { rows, drop } = glyph(ch);
      rows.forEach((row, r) => {
        for (let c = 0; c < row.length; c++) {
          if (row[c] === '1') this.rect(left + (i * ADVANCE + c) * scale, Math.round(y) + (r + drop) * scale, scale, scale, color);
        }
      });
    });
  }

  /** Height of a line of text at `scale`. */
  static lineHeight(scale = 2): number {
    return GLYPH_HEIGHT * scale;
  }

  toPNG(): Buffer {
    return PNG.sync.write(this.#png, { colorType: 2 });
  }
}

// Axes for the charts: a plotting box with ticks at round numbers, grid lines, tick labels and
// axis names, and the mapping from data values to pixels inside it.
import { BLACK, Canvas, type Color } from './canvas';

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

interface Ticks {
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

const GRID: Color = [228, 228, 228];
const AXIS: Color = [90, 90, 90];

/** About `target` ticks at 1, 2 or 5 times a power of ten, covering [min, max]. */
function niceTicks(min: number, max: number, target: number, minStep = 0): Ticks {
  if (!(max > min)) {
    const pad = Math.abs(min) * 0.1 || 1;
    [min, max] = [min - pad, max + pad];
  }
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = Math.max(minStep, (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude);
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values = Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toFixed(decimals)));
  return { lo: first * step, hi: last * step, step, values };
}

function tickLabel(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const text = value.toFixed(decimals);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

export class Chart {
  readonly canvas: Canvas;
  readonly box: Box;
  readonly #x: Ticks;
  readonly #y: Ticks;

  /** `xStep` is the smallest tick step on the x axis (1 for epochs, which are whole numbers). */
  constructor(canvas: Canvas, box: Box, x: [number, number], y: [number, number], xStep = 0) {
    this.canvas = canvas;
    this.box = box;
    this.#x = niceTicks(x[0], x[1], Math.max(2, Math.floor(box.width / 90)), xStep);
    this.#y = niceTicks(y[0], y[1], Math.max(2, Math.floor(box.height / 60)));
  }

  /** The pixel column of data value `v`. */
  px(v: number): number {
    return this.box.left + ((v - this.#x.lo) / (this.#x.hi - this.#x.lo)) * this.box.width;
  }

  /** The pixel row of data value `v`. */
  py(v: number): number {
    return this.box.top + this.box.height - ((v - this.#y.lo) / (this.#y.hi - this.#y.lo)) * this.box.height;
  }

  /** Grid, frame, tick labels, and the axis names (x below the axis, y above it). */
  drawAxes(xName: string, yName: string): void {
    const { canvas, box } = this;
    const bottom = box.top + box.height;
    for (const v of this.#x.values) {
      const x = Math.round(this.px(v));
      canvas.rect(x, box.top, 1, box.height, GRID);
      canvas.rect(x, bottom, 1, 6, AXIS);
      canvas.text(tickLabel(v, this.#x.step), x, bottom + 10, BLACK, { align: 'center' });
    }
    for (const v of this.#y.values) {
      const y = Math.round(this.py(v));
      canvas.rect(box.left, y, box.width, 1, GRID);
      canvas.rect(box.left - 6, y, 6, 1, AXIS);
      canvas.text(tickLabel(v, this.#y.step), box.left - 10, y - Canvas.lineHeight() / 2, BLACK, { align: 'right' });
    }
    canvas.frame(box.left, box.top, box.width + 1, box.height + 1, AXIS);
    canvas.text(xName, box.left + box.width / 2, bottom + 16 + Canvas.lineHeight() + 8, BLACK, { align: 'center' });
    canvas.text(yName, Math.max(8, box.left - 60), box.top - Canvas.lineHeight() - 14, BLACK);
  }
}

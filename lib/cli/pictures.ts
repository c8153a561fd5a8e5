// The three pictures a training run leaves behind: reconstructions beside their originals, the
// latent space as a scatter plot, and the loss curves.
import { BLACK, Canvas, WHITE, type Color } from './canvas';
import { Chart } from './chart';
import { GLYPH_HEIGHT, textWidth } from './font';
import type { Projection } from './pca';

/** Ten colours that stay apart for most eyes (Tableau 10), one per digit. */
const PALETTE: Color[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];
const MARGIN = 24;

/** Smallest and largest value; spreading a long array into Math.min would overflow the stack. */
function extent(values: ArrayLike<number>): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < values.length; i++) [lo, hi] = [Math.min(lo, values[i]), Math.max(hi, values[i])];
  return [lo, hi];
}
const LINE = Canvas.lineHeight();

export interface ImageRows {
  /** Rows of side × side pixels. */
  originals: Float32Array;
  reconstructions: Float32Array;
  count: number;
  side: number;
  /** The value drawn white and the value drawn black; values outside are clamped. */
  range: [number, number];
  /** A caption above each column (the digit), if any. */
  captions?: string[];
}

/** Two rows of pictures: the originals on top, each one's reconstruction below it. */
export function reconstructionsPicture(rows: ImageRows, title: string): Canvas {
  const scale = Math.max(1, Math.floor(112 / rows.side));
  const tile = rows.side * scale;
  const gap = 10;
  const names = ['original', 'reconstructed'];
  const labelWidth = Math.max(...names.map((n) => textWidth(n) * 2)) + 16;
  const captionHeight = rows.captions ? LINE + 8 : 0;
  const top = MARGIN + LINE * 1.5 + 16 + captionHeight;
  const gridWidth = MARGIN * 2 + labelWidth + rows.count * (tile + gap) - gap;
  const canvas = new Canvas(Math.max(gridWidth, textWidth(title) * 3 + MARGIN * 2), top + 2 * tile + gap + MARGIN);
  canvas.text(title, canvas.width / 2, MARGIN, BLACK, { scale: 3, align: 'center' });
  const [lo, hi] = rows.range;
  const normalise = (values: Float32Array) => values.map((v) => (v - lo) / (hi - lo || 1));
  const size = rows.side * rows.side;
  [rows.originals, rows.reconstructions].forEach((images, r) => {
    const y = top + r * (tile + gap);
    canvas.text(names[r], MARGIN, y + tile / 2 - LINE / 2, BLACK);
    for (let i = 0; i < rows.count; i++) {
      const x = MARGIN + labelWidth + i * (tile + gap);
      canvas.image(normalise(images.subarray(i * size, (i + 1) * size)), rows.side, x, y, scale);
      if (r === 0 && rows.captions) canvas.text(rows.captions[i], x + tile / 2, top - captionHeight, BLACK, { align: 'center' });
    }
  });
  return canvas;
}

/** The latent vectors as points in two dimensions, coloured by label (with a key) when there are labels. */
export function latentPicture(
  projection: Projection,
  title: string,
  labels?: { values: Uint8Array; name: string; classNames?: readonly string[] },
): Canvas {
  const canvas = new Canvas(900, 760);
  const keyWidth = labels ? 110 : 0;
  const box = { left: 110, top: MARGIN + LINE * 1.5 + 40, width: canvas.width - 110 - MARGIN - keyWidth - 20, height: 0 };
  box.height = canvas.height - box.top - 90;
  const { points } = projection;
  const n = points.length / 2;
  const xs = Array.from({ length: n }, (_, i) => points[2 * i]);
  const ys = Array.from({ length: n }, (_, i) => points[2 * i + 1]);
  const chart = new Chart(canvas, box, extent(xs), extent(ys));
  canvas.text(title, canvas.width / 2, MARGIN, BLACK, { scale: 3, align: 'center' });
  chart.drawAxes(projection.axes[0], projection.axes[1]);
  for (let i = 0; i < n; i++) {
    const color = labels ? PALETTE[labels.values[i] % PALETTE.length] : PALETTE[0];
    canvas.disc(chart.px(xs[i]), chart.py(ys[i]), 3.2, color, 0.75);
  }
  if (labels && !labels.classNames) {
    // Each class's name at the median of its points, so the picture reads without the key; a name
    // that would cover another moves up or down until it does not. (Class names are longer than
    // this placement allows for; those classes rely on the key.)
    const placed: [number, number][] = [];
    const [width, height] = [textWidth('0') * 4 + 8, GLYPH_HEIGHT * 4 + 8];
    for (const label of new Set(labels.values)) {
      const mine = [...labels.values.keys()].filter((i) => labels.values[i] === label);
      const middle = (values: number[]) => mine.map((i) => values[i]).sort((a, b) => a - b)[mine.length >> 1];
      const x = chart.px(middle(xs));
      const home = chart.py(middle(ys)) - LINE;
      const free = (y: number) => placed.every(([px, py]) => Math.abs(px - x) >= width || Math.abs(py - y) >= height);
      // 0, +1, -1, +2, -2, … label heights away from home.
      const shifts = Array.from({ length: 21 }, (_, k) => (k % 2 ? 1 : -1) * Math.ceil(k / 2) * height);
      const y = home + (shifts.find((dy) => free(home + dy)) ?? 0);
      placed.push([x, y]);
      const text = String(label);
      for (let dx = -3; dx <= 3; dx++) for (let dy = -3; dy <= 3; dy++) canvas.text(text, x + dx, y + dy, WHITE, { scale: 4, align: 'center' });
      const dark = PALETTE[label % PALETTE.length].map((c) => Math.round(c * 0.7)) as unknown as Color;
      canvas.text(text, x, y, dark, { scale: 4, align: 'center' });
    }
  }
  if (labels) {
    const x = box.left + box.width + 30;
    canvas.text(labels.name, x, box.top, BLACK);
    const classes = [...new Set(labels.values)].sort((a, b) => a - b);
    classes.forEach((label, k) => {
      const y = box.top + 34 + k * 30;
      canvas.disc(x + 8, y + LINE / 2, 7, PALETTE[label % PALETTE.length]);
      canvas.text(labels.classNames?.[label] ?? String(label), x + 26, y, BLACK);
    });
  }
  return canvas;
}

/** Training and validation loss per epoch, as two coloured lines with a key. */
export function lossPicture(loss: number[], valLoss: number[], title: string, lossName: string): Canvas {
  const canvas = new Canvas(900, 560);
  const box = { left: 110, top: MARGIN + LINE * 1.5 + 40, width: canvas.width - 110 - MARGIN - 10, height: 0 };
  box.height = canvas.height - box.top - 90;
  const chart = new Chart(canvas, box, [1, Math.max(loss.length, 1)], extent([...loss, ...valLoss]), 1);
  canvas.text(title, canvas.width / 2, MARGIN, BLACK, { scale: 3, align: 'center' });
  chart.drawAxes('epoch', lossName);
  const series: [string, number[], Color][] = [
    ['training', loss, PALETTE[0]],
    ['validation', valLoss, PALETTE[1]],
  ];
  const shown = series.filter(([, values]) => values.length > 0);
  for (const [, values, color] of shown) {
    const xy = values.map((v, i) => [chart.px(i + 1), chart.py(v)] as const);
    canvas.polyline(xy, color, 2.5);
    for (const [x, y] of xy) canvas.disc(x, y, 4, color);
  }
  const keyWidth = Math.max(...shown.map(([name]) => textWidth(name) * 2)) + 44;
  const keyX = box.left + box.width - keyWidth - 12;
  canvas.rect(keyX, box.top + 12, keyWidth, shown.length * 26 + 12, [255, 255, 255]);
  canvas.frame(keyX, box.top + 12, keyWidth, shown.length * 26 + 12, [200, 200, 200]);
  shown.forEach(([name, , color], k) => {
    const y = box.top + 24 + k * 26;
    canvas.polyline([[keyX + 10, y + LINE / 2], [keyX + 32, y + LINE / 2]], color, 2.5);
    canvas.text(name, keyX + 40, y, BLACK);
  });
  return canvas;
}

/** Overlaid histograms of several groups of scores (anomaly scores of ham and spam), with a threshold line. */
export function histogramPicture(
  groups: { name: string; values: readonly number[] }[],
  title: string,
  xName: string,
  threshold?: number,
): Canvas {
  const canvas = new Canvas(900, 560);
  const box = { left: 110, top: MARGIN + LINE * 1.5 + 40, width: canvas.width - 110 - MARGIN - 10, height: 0 };
  box.height = canvas.height - box.top - 90;
  // The top 1% of all scores would stretch the axis over empty space; they land in the last bin.
  const all = groups.flatMap((g) => g.values).sort((a, b) => a - b);
  const low = all[0] ?? 0;
  const high = Math.max(all[Math.floor(0.99 * (all.length - 1))] ?? 1, threshold ?? -Infinity, low + 1e-12);
  const bins = 40;
  const width = (high - low) / bins;
  const shares = groups.map((g) => {
    const counts = new Array<number>(bins).fill(0);
    for (const v of g.values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - low) / width)))]++;
    return counts.map((c) => c / Math.max(1, g.values.length));
  });
  const chart = new Chart(canvas, box, [low, high], [0, Math.max(...shares.flat(), 1e-9)]);
  canvas.text(title, canvas.width / 2, MARGIN, BLACK, { scale: 3, align: 'center' });
  chart.drawAxes(xName, 'share of the group');
  shares.forEach((counts, k) => {
    counts.forEach((share, b) => {
      const x0 = chart.px(low + b * width);
      const x1 = chart.px(low + (b + 1) * width);
      const y = chart.py(share);
      for (let yy = Math.round(y); yy < Math.round(chart.py(0)); yy++) {
        for (let xx = Math.round(x0); xx < Math.round(x1) - 1; xx++) canvas.blend(xx, yy, PALETTE[k % PALETTE.length], 0.45);
      }
    });
  });
  if (threshold !== undefined) {
    const x = chart.px(threshold);
    canvas.polyline([[x, chart.py(0)], [x, box.top]], BLACK, 2);
    canvas.text('threshold', x + 6, box.top + 4, BLACK);
  }
  // The key sits top left, on white, where the threshold line may pass behind it.
  const keys = groups.map((g) => `${g.name} (${g.values.length})`);
  const keyWidth = Math.max(...keys.map((k) => textWidth(k) * 2)) + 44;
  const keyX = box.left + 12;
  canvas.rect(keyX, box.top + 12, keyWidth, keys.length * 26 + 12, WHITE);
  canvas.frame(keyX, box.top + 12, keyWidth, keys.length * 26 + 12, [200, 200, 200]);
  keys.forEach((key, k) => {
    const y = box.top + 24 + k * 26;
    canvas.rect(keyX + 10, y + 2, 22, LINE - 4, PALETTE[k % PALETTE.length]);
    canvas.text(key, keyX + 40, y, BLACK);
  });
  return canvas;
}

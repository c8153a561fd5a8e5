// The rows of the distributed tests: the same on every rank and in the single-process reference.
'use strict';

/** `count` rows of `dim` values in (0.1, 0.9): a smooth pattern per row. */
function rows(count, dim) {
  const x = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < dim; c++) x[r * dim + c] = 0.5 + 0.4 * Math.sin(0.37 * r + 0.11 * c * (1 + (r % 5)));
  }
  return x;
}

module.exports = { rows };

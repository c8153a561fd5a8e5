// How numbers read in the command's messages: losses to four significant digits, counts with
// thousands separators, durations in the largest sensible unit.

export function lossText(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(4) : String(value);
}

/** Written out by hand: the first toLocaleString call loads ICU data, a visible part of the command's start-up time. */
export function countText(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function durationText(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

// Number formatting shared by the table and the chart.

/** 1234567 -> "1.23M", 45678 -> "45.7k", 512 -> "512". */
export function si(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toPrecision(3)}k`;
  return abs >= 10 ? value.toFixed(0) : value.toPrecision(2);
}

/** Nanoseconds as microseconds with 3 significant digits (whole ones from 1000 up, never an exponent), '-' when absent. */
export function micros(ns: number | null | undefined): string {
  if (ns == null || !Number.isFinite(ns)) return '-';
  const us = ns / 1000;
  return Math.abs(us) >= 1000 ? us.toFixed(0) : us.toPrecision(3);
}

export function times(r: number | null): string {
  return r === null ? '-' : `${r.toFixed(2)}x`;
}

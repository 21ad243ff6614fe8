// Pure formatting helpers: every number on screen goes through one of these, so units are
// consistent across panels (IEC bytes, humane durations, fixed decimals for rates).

const DASH = "—";

export function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** 1536 -> "1.5 KiB"; null -> "—". */
export function bytes(v: number | null | undefined): string {
  if (!isNum(v)) return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Math.abs(v);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const sign = v < 0 ? "-" : "";
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${sign}${value.toFixed(digits)} ${units[unit]}`;
}

/** Seconds as a humane duration: 0.0042 -> "4.2 ms", 75.8 -> "1m 16s", 90061 -> "1d 1h". */
export function duration(seconds: number | null | undefined): string {
  if (!isNum(seconds)) return DASH;
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "-" : "";
  if (s < 0.001) return `${sign}${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${sign}${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`;
  if (s < 60) return `${sign}${s.toFixed(s < 10 ? 2 : 1)} s`;
  const total = Math.round(s);
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (days > 0) return `${sign}${days}d ${hours}h`;
  if (hours > 0) return `${sign}${hours}h ${minutes}m`;
  return `${sign}${minutes}m ${secs}s`;
}

/** A percentage already in 0..100: 40 -> "40.0 %". */
export function pct(v: number | null | undefined, digits = 1): string {
  return isNum(v) ? `${v.toFixed(digits)} %` : DASH;
}

/** A ratio in 0..1 as a percentage: 0.0667 -> "6.7 %". */
export function ratio(v: number | null | undefined, digits = 1): string {
  return isNum(v) ? pct(v * 100, digits) : DASH;
}

/** Counts with thousands separators; rates with up to `digits` decimals. */
export function num(v: number | null | undefined, digits = 0): string {
  if (!isNum(v)) return DASH;
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** 1.5e9 -> "1.50 G" (XID ages and other big counts). */
export function compact(v: number | null | undefined): string {
  if (!isNum(v)) return DASH;
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  return num(v);
}

/** How long ago an RFC 3339 time was, relative to `now`: "12s ago". */
export function ago(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return DASH;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return DASH;
  const seconds = (now.getTime() - at) / 1000;
  if (seconds < 1) return "just now";
  return `${duration(Math.round(seconds))} ago`;
}

/** Wall-clock time of a date in the viewer's locale, 24 h: "14:05:09". */
export function clock(d: Date): string {
  return d.toLocaleTimeString("en-GB", { hour12: false });
}

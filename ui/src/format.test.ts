import { ago, bytes, compact, duration, num, pct, ratio } from "./format";

describe("bytes", () => {
  it("uses IEC units with one decimal below 100", () => {
    expect(bytes(0)).toBe("0 B");
    expect(bytes(1536)).toBe("1.5 KiB");
    expect(bytes(2981888)).toBe("2.8 MiB");
    expect(bytes(150 * 1024 ** 3)).toBe("150 GiB");
  });
  it("says nothing for missing values", () => {
    expect(bytes(null)).toBe("—");
    expect(bytes(undefined)).toBe("—");
    expect(bytes(Number.NaN)).toBe("—");
  });
});

describe("duration", () => {
  it("scales from microseconds to days", () => {
    expect(duration(0.000949)).toBe("949 µs");
    expect(duration(0.0042)).toBe("4.20 ms");
    expect(duration(0.25)).toBe("250.0 ms");
    expect(duration(4.5)).toBe("4.50 s");
    expect(duration(75.8)).toBe("1m 16s");
    expect(duration(3 * 3600 + 120)).toBe("3h 2m");
    expect(duration(90061)).toBe("1d 1h");
  });
  it("keeps the sign", () => {
    expect(duration(-120)).toBe("-2m 0s");
  });
});

describe("percentages and counts", () => {
  it("formats percentages and ratios", () => {
    expect(pct(40)).toBe("40.0 %");
    expect(ratio(0.0667)).toBe("6.7 %");
    expect(ratio(null)).toBe("—");
  });
  it("groups thousands and compacts big numbers", () => {
    expect(num(1234567)).toBe("1,234,567");
    expect(num(29.6854, 1)).toBe("29.7");
    expect(compact(1.5e9)).toBe("1.50 G");
    expect(compact(447)).toBe("447");
  });
});

describe("ago", () => {
  it("is relative to now", () => {
    const now = new Date("2026-12-01T10:00:00Z");
    expect(ago("2026-12-01T09:59:48Z", now)).toBe("12.0 s ago");
    expect(ago("2026-12-01T08:00:00Z", now)).toBe("2h 0m ago");
    expect(ago(null, now)).toBe("—");
  });
});

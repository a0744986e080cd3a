import { describe, expect, it } from "vitest";
import { Backoff } from "@/lib/backoff";

describe("Backoff", () => {
  it("doubles the ceiling each attempt up to the maximum", () => {
    const backoff = new Backoff({ baseMs: 500, maxMs: 8000, random: () => 1 });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next())).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
  });

  it("jitters between half the ceiling and the ceiling", () => {
    const low = new Backoff({ baseMs: 1000, random: () => 0 });
    const high = new Backoff({ baseMs: 1000, random: () => 0.999999 });
    expect(low.next()).toBe(500);
    expect(low.next()).toBe(1000);
    expect(high.next()).toBe(1000);
    expect(high.next()).toBe(2000);
    const real = new Backoff({ baseMs: 1000, maxMs: 30_000 });
    for (let i = 0; i < 50; i++) {
      const cap = real.cap(real.attempt);
      const delay = real.next();
      expect(delay).toBeGreaterThanOrEqual(cap / 2);
      expect(delay).toBeLessThanOrEqual(cap);
    }
  });

  it("counts attempts and starts over after reset", () => {
    const backoff = new Backoff({ baseMs: 100, random: () => 1 });
    backoff.next();
    backoff.next();
    expect(backoff.attempt).toBe(2);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it("never overflows for huge attempt counts", () => {
    const backoff = new Backoff({ baseMs: 500, maxMs: 30_000, random: () => 1 });
    for (let i = 0; i < 2000; i++) backoff.next();
    expect(backoff.next()).toBe(30_000);
  });
});

import { describe, expect, it } from "vitest";
import { RowWindow, sameRange } from "@/lib/rowWindow";

const keysOf = (n: number, prefix = "k") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("RowWindow", () => {
  it("renders only the rows near the viewport of a long list", () => {
    const keys = keysOf(10_000);
    const win = new RowWindow(50, 200, 500, false);
    win.setView(keys, { top: 100_000, height: 500, pinned: false });
    const range = win.range(keys);
    // 500 px of viewport and 200 px either side, at 50 px a row: 24 or so rows
    expect(range.end - range.start).toBeLessThan(30);
    expect(range.start).toBe((100_000 - 200) / 50);
    expect(range.before).toBe(range.start * 50);
    expect(range.before + range.after + (range.end - range.start) * 50).toBe(10_000 * 50);
  });

  it("opens a list that follows its bottom at its end", () => {
    const keys = keysOf(1000);
    const win = new RowWindow(50, 100, 400);
    const range = win.range(keys);
    expect(range.end).toBe(1000);
    expect(range.after).toBe(0);
    expect(range.start).toBe(1000 - 10);
  });

  it("counts rows never measured as the average of those measured", () => {
    const keys = keysOf(4);
    const win = new RowWindow(50, 0, 100, false);
    win.measure("k0", 100);
    win.measure("k1", 200);
    expect(win.estimated()).toBe(150);
    expect(Array.from(win.offsets(keys))).toEqual([0, 100, 300, 450, 600]);
    expect(win.measure("k1", 200)).toBe(false);
    expect(win.measure("k1", 210)).toBe(true);
  });

  it("keeps the row at the top of the viewport where it was when rows come in above", () => {
    const keys = keysOf(100, "new");
    const win = new RowWindow(50, 0, 500);
    win.setView(keys, { top: 1025, height: 500, pinned: false });
    expect(win.anchor).toEqual({ key: "new20", within: 25 });
    // an older page of 50 rows arrives above
    const more = [...keysOf(50, "old"), ...keys];
    expect(win.topOf(more, "new20")! + win.anchor!.within).toBe(50 * 50 + 1025);
    // and rows above it turn out taller than estimated: the first one measured sets the estimate
    win.measure("new3", 90);
    expect(win.topOf(more, "new20")).toBe(70 * 90);
    win.measure("new4", 30);
    expect(win.topOf(more, "new20")).toBe(68 * 60 + 90 + 30);
  });

  it("a list read from its top stays there when rows come in above", () => {
    const keys = keysOf(10);
    const win = new RowWindow(50, 0, 500, false);
    win.setView(keys, { top: 0, height: 500, pinned: false });
    expect(win.anchor).toBeNull();
    win.setView(keys, { top: 10, height: 500, pinned: false });
    expect(win.anchor).toEqual({ key: "k0", within: 10 });
  });

  it("anchors above the first row (content over the list) in a list that follows its bottom", () => {
    const keys = keysOf(10);
    const win = new RowWindow(50, 0, 500);
    win.setView(keys, { top: -40, height: 500, pinned: false });
    expect(win.anchor).toEqual({ key: "k0", within: -40 });
  });

  it("compares ranges", () => {
    expect(sameRange({ start: 1, end: 2, before: 3, after: 4 }, { start: 1, end: 2, before: 3.5, after: 4 })).toBe(true);
    expect(sameRange({ start: 1, end: 2, before: 3, after: 4 }, { start: 1, end: 3, before: 3, after: 4 })).toBe(false);
  });
});

describe("RowWindow anchors", () => {
  it("skip rows that move as rows are added (a day's separator)", () => {
    const keys = ["day-1", "m1", "m2"];
    const win = new RowWindow(50, 0, 500, true, (key) => !key.startsWith("day-"));
    win.setView(keys, { top: 10, height: 500, pinned: false });
    expect(win.anchor).toEqual({ key: "m1", within: -40 });
  });
});

describe("RowWindow anchors a row's own box", () => {
  it("so a row losing its top margin (no longer the first of a run) keeps its text in place", () => {
    const keys = ["m1", "m2"];
    const win = new RowWindow(50, 0, 500);
    win.measure("m1", 58, 8);
    win.measure("m2", 50, 0);
    win.setView(keys, { top: 70, height: 500, pinned: false });
    expect(win.anchor).toEqual({ key: "m2", within: 12 });
    // an older page comes in and m1 is no longer the first of its run
    const more = ["m0", ...keys];
    win.measure("m0", 50, 0);
    win.measure("m1", 50, 0);
    expect(win.topOf(more, "m2")! + win.anchor!.within).toBe(50 + 50 + 12);
    win.setView(keys, { top: 62, height: 500, pinned: false });
    win.measure("m1", 58, 8);
    expect(win.topOf(keys, "m1")).toBe(8);
  });
});

describe("RowWindow keeps its anchor", () => {
  it("while the view is put back by it, and takes the row on top after a scroll", () => {
    const keys = keysOf(10);
    const win = new RowWindow(50, 0, 500);
    win.setView(keys, { top: 120, height: 500, pinned: false });
    expect(win.anchor).toEqual({ key: "k2", within: 20 });
    win.setView(keys, { top: 60, height: 500, pinned: false }, false);
    expect(win.anchor).toEqual({ key: "k2", within: 20 });
    win.setView(keys, { top: 60, height: 500, pinned: false });
    expect(win.anchor).toEqual({ key: "k1", within: 10 });
  });
});

/**
 * Windowing for long lists (a conversation's rows, the inbox): which rows to render for what is
 * on screen, and how tall the rows left out are, from the heights of the rows measured so far
 * (rows never rendered count as the average of those measured).
 *
 * Framework-free. Positions are in pixels from the top of the first row. The list is kept where
 * it was by an anchor, the row at the top of the viewport and how far into it the viewport
 * starts, so rows added or measured above it (an older page, a row taller than its estimate)
 * move nothing on screen.
 */

export interface RowRange {
  /** Rows [start, end) are rendered. */
  start: number;
  end: number;
  /** Heights of the rows left out above and below. */
  before: number;
  after: number;
}

export interface View {
  /** The viewport's top, from the top of the first row (may be negative: content above). */
  top: number;
  height: number;
  /** At the bottom: the window ends with the last row whatever `top` says. */
  pinned: boolean;
}

export interface Anchor {
  key: string;
  /** How far below that row's top the viewport starts. */
  within: number;
}

export class RowWindow {
  private heights = new Map<string, number>();
  /** How far below its slot each measured row's own box starts (its top margin). */
  private leads = new Map<string, number>();
  private measuredTotal = 0;
  private cache: { keys: readonly string[]; version: number; offsets: Float64Array } | null = null;
  private version = 0;
  view: View;
  anchor: Anchor | null = null;

  /**
   * @param estimate the height of a row before any is measured
   * @param overscan rendered beyond the viewport, above and below, in pixels
   * @param followsBottom the list opens at its end (a conversation); otherwise at its start,
   *   and while at its very top it stays there when rows are added above (the inbox)
   * @param anchorable rows that keep their place among the others as rows are added
   */
  constructor(
    private readonly estimate = 64,
    private readonly overscan = 800,
    viewHeight = 800,
    private readonly followsBottom = true,
    private readonly anchorable: (key: string) => boolean = () => true,
  ) {
    this.view = { top: 0, height: viewHeight, pinned: followsBottom };
  }

  /** The height rows not measured yet count as. */
  estimated(): number {
    return this.heights.size ? this.measuredTotal / this.heights.size : this.estimate;
  }

  heightOf(key: string): number {
    return this.heights.get(key) ?? this.estimated();
  }

  /** Records a rendered row's height (its slot: box, margins, gap) and where its box starts in
   *  it; true when the height changed. */
  measure(key: string, height: number, lead = 0): boolean {
    this.leads.set(key, lead);
    const old = this.heights.get(key);
    if (old !== undefined && Math.abs(old - height) < 0.5) return false;
    this.measuredTotal += height - (old ?? 0);
    this.heights.set(key, height);
    this.version++;
    return true;
  }

  /** offsets[i] is row i's top; offsets[n] the height of all rows. */
  offsets(keys: readonly string[]): Float64Array {
    const cached = this.cache;
    if (cached && cached.keys === keys && cached.version === this.version) return cached.offsets;
    const offsets = new Float64Array(keys.length + 1);
    const estimate = this.estimated();
    for (let i = 0; i < keys.length; i++) offsets[i + 1] = offsets[i] + (this.heights.get(keys[i]) ?? estimate);
    this.cache = { keys, version: this.version, offsets };
    return offsets;
  }

  /** The row whose box holds position `y` (0 … n-1; 0 for an empty list). */
  indexAt(keys: readonly string[], y: number): number {
    const offsets = this.offsets(keys);
    let lo = 0;
    let hi = Math.max(keys.length - 1, 0);
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (offsets[mid] <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Which rows to render for the current view. */
  range(keys: readonly string[]): RowRange {
    const n = keys.length;
    if (!n) return { start: 0, end: 0, before: 0, after: 0 };
    const offsets = this.offsets(keys);
    const total = offsets[n];
    let start: number;
    let end: number;
    if (this.view.pinned) {
      end = n;
      const from = total - this.view.height - this.overscan;
      start = from <= 0 ? 0 : this.indexAt(keys, from);
    } else {
      start = this.indexAt(keys, Math.max(0, this.view.top - this.overscan));
      end = Math.min(n, this.indexAt(keys, this.view.top + this.view.height + this.overscan) + 1);
    }
    return { start, end, before: offsets[start], after: total - offsets[end] };
  }

  /** The top of row `key`'s own box (past its top margin), or null when it is not in the list. */
  topOf(keys: readonly string[], key: string): number | null {
    const index = keys.indexOf(key);
    return index < 0 ? null : this.offsets(keys)[index] + (this.leads.get(key) ?? 0);
  }

  /** The view moved (scrolled, resized): remembers it and, with `reanchor`, the row at its top
   *  (without, the anchor stays: the view was just put back by it, over rows whose heights may
   *  still be estimates). */
  setView(keys: readonly string[], view: View, reanchor = true): void {
    this.view = view;
    if (!reanchor && this.anchor && keys.includes(this.anchor.key)) return;
    if (!keys.length || (!this.followsBottom && view.top <= 0)) {
      // A list read from its top (the inbox) stays at its top when rows come in above.
      this.anchor = null;
      return;
    }
    // The first row at or below the top that stays where it is as rows are added (a day's
    // separator moves up when an older page brings more of that day).
    let index = this.indexAt(keys, view.top);
    while (index < keys.length - 1 && !this.anchorable(keys[index])) index++;
    const key = keys[index];
    this.anchor = { key, within: view.top - this.offsets(keys)[index] - (this.leads.get(key) ?? 0) };
  }
}

export function sameRange(a: RowRange, b: RowRange): boolean {
  return a.start === b.start && a.end === b.end && Math.abs(a.before - b.before) < 1 && Math.abs(a.after - b.after) < 1;
}

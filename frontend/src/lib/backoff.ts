/**
 * Exponential backoff with jitter for reconnects: attempt n waits a random time in
 * [cap/2, cap] where cap = min(maxMs, baseMs * 2^n) ("equal jitter": never hammering the
 * server in lockstep after an outage, never retrying instantly in a loop).
 */
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private attemptCount = 0;

  constructor({ baseMs = 500, maxMs = 30_000, random = Math.random }: BackoffOptions = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  get attempt(): number {
    return this.attemptCount;
  }

  /** The ceiling for attempt `n` before jitter. */
  cap(n: number): number {
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 30));
  }

  /** The delay before the next attempt; each call counts one more attempt. */
  next(): number {
    const cap = this.cap(this.attemptCount);
    this.attemptCount += 1;
    const half = cap / 2;
    return Math.round(half + this.random() * half);
  }

  reset(): void {
    this.attemptCount = 0;
  }
}

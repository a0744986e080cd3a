/**
 * Synthesized speech arrives as `voice_audio` frames: JSON with `seq` (0, 1, ...), base64
 * `data`, and an empty last frame with `final: true`. A listener plays the chunks in `seq`
 * order as they come (so playback starts before synthesis ends) and keeps the whole turn for
 * "play again". This assembles one turn's stream: duplicates are dropped, chunks that arrive
 * early wait for the ones before them, and the stream is complete once every chunk up to the
 * final frame is in.
 */

export function base64ToBytes(data: string): Uint8Array {
  if (!data) return new Uint8Array(0);
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

export interface AudioAddResult {
  /** Chunks now playable, in order (none when this one has to wait for an earlier one). */
  ready: Uint8Array[];
  /** Every chunk up to the final frame is in. */
  complete: boolean;
  /** This frame was new (not a repeat, not past the end). */
  accepted: boolean;
}

export class AudioAssembler {
  private readonly waiting = new Map<number, Uint8Array>();
  private readonly inOrder: Uint8Array[] = [];
  private nextSeq = 0;
  private finalSeq: number | null = null;
  private received = 0;

  constructor(
    readonly turnId: string,
    readonly language: string,
  ) {}

  /** Audio bytes received so far (in order or waiting). */
  get bytes(): number {
    return this.received;
  }

  get complete(): boolean {
    return this.finalSeq !== null && this.nextSeq > this.finalSeq;
  }

  /** The chunks delivered in order so far. */
  get chunks(): readonly Uint8Array[] {
    return this.inOrder;
  }

  add(seq: number, data: Uint8Array, final: boolean): AudioAddResult {
    const invalid = !Number.isInteger(seq) || seq < 0;
    if (invalid || seq < this.nextSeq || this.waiting.has(seq) || (this.finalSeq !== null && seq > this.finalSeq)) {
      return { ready: [], complete: this.complete, accepted: false };
    }
    if (final) this.finalSeq = seq;
    this.waiting.set(seq, data);
    this.received += data.byteLength;
    // Anything past a final frame that came early can never be played.
    if (this.finalSeq !== null) {
      for (const key of [...this.waiting.keys()]) {
        if (key > this.finalSeq) {
          this.received -= (this.waiting.get(key) as Uint8Array).byteLength;
          this.waiting.delete(key);
        }
      }
    }
    const ready: Uint8Array[] = [];
    while (this.waiting.has(this.nextSeq)) {
      const chunk = this.waiting.get(this.nextSeq) as Uint8Array;
      this.waiting.delete(this.nextSeq);
      this.nextSeq += 1;
      if (chunk.byteLength) {
        ready.push(chunk);
        this.inOrder.push(chunk);
      }
    }
    return { ready, complete: this.complete, accepted: true };
  }

  /** The whole turn's audio (what has arrived in order). */
  whole(): Uint8Array {
    return concatBytes(this.inOrder);
  }
}

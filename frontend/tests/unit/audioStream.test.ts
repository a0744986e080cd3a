import { describe, expect, it } from "vitest";
import { AudioAssembler, base64ToBytes, concatBytes } from "@/lib/audioStream";

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (chunks: Uint8Array[]) => chunks.map((c) => Array.from(c).join(",")).join("|");

describe("assembling a turn's synthesized speech", () => {
  it("hands over chunks in seq order as they come, and completes with the empty final frame", () => {
    const audio = new AudioAssembler("t1", "es");
    expect(text(audio.add(0, bytes(1, 2), false).ready)).toBe("1,2");
    expect(text(audio.add(1, bytes(3), false).ready)).toBe("3");
    const last = audio.add(2, bytes(), true);
    expect(last).toEqual({ ready: [], complete: true, accepted: true });
    expect(Array.from(audio.whole())).toEqual([1, 2, 3]);
    expect(audio.bytes).toBe(3);
  });

  it("holds a chunk that comes early until the ones before it arrive", () => {
    const audio = new AudioAssembler("t1", "es");
    expect(audio.add(1, bytes(2), false).ready).toEqual([]);
    expect(audio.add(3, bytes(), true)).toMatchObject({ ready: [], complete: false });
    expect(text(audio.add(0, bytes(1), false).ready)).toBe("1|2");
    const done = audio.add(2, bytes(3), false);
    expect(text(done.ready)).toBe("3");
    expect(done.complete).toBe(true);
    expect(Array.from(audio.whole())).toEqual([1, 2, 3]);
  });

  it("ignores repeats, chunks past the end, and nonsense seqs", () => {
    const audio = new AudioAssembler("t1", "es");
    audio.add(0, bytes(9), false);
    expect(audio.add(0, bytes(9), false).accepted).toBe(false);
    audio.add(1, bytes(), true);
    expect(audio.add(2, bytes(7), false).accepted).toBe(false);
    expect(audio.add(-1, bytes(7), false).accepted).toBe(false);
    expect(audio.bytes).toBe(1);
    expect(Array.from(audio.whole())).toEqual([9]);
  });

  it("drops early chunks beyond a final frame that arrives later", () => {
    const audio = new AudioAssembler("t1", "es");
    audio.add(5, bytes(5, 5), false);
    audio.add(1, bytes(), true);
    expect(audio.bytes).toBe(0);
    expect(audio.add(0, bytes(1), false)).toMatchObject({ complete: true });
    expect(Array.from(audio.whole())).toEqual([1]);
  });
});

describe("bytes", () => {
  it("decodes base64 as the server sends it", () => {
    expect(Array.from(base64ToBytes("RkFLRU1QMyA="))).toEqual(Array.from(new TextEncoder().encode("FAKEMP3 ")));
    expect(base64ToBytes("")).toHaveLength(0);
    expect(() => base64ToBytes("not base64!")).toThrow();
  });

  it("concatenates chunks", () => {
    expect(Array.from(concatBytes([bytes(1), bytes(), bytes(2, 3)]))).toEqual([1, 2, 3]);
  });
});

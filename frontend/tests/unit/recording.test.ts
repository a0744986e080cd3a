import { describe, expect, it } from "vitest";
import {
  formatForMime,
  gestureCancel,
  gesturePress,
  gestureRelease,
  gestureUp,
  microphoneErrorText,
  pickRecordingFormat,
  TAP_MS,
  uploadContentType,
} from "@/lib/recording";

describe("recording formats", () => {
  it("prefers Opus in WebM, then Ogg, then MP4 (Safari)", () => {
    expect(pickRecordingFormat(() => true)).toEqual({ mimeType: "audio/webm;codecs=opus", format: "webm" });
    expect(pickRecordingFormat((mime) => mime.startsWith("audio/ogg"))).toEqual({ mimeType: "audio/ogg;codecs=opus", format: "ogg" });
    expect(pickRecordingFormat((mime) => mime === "audio/mp4")).toEqual({ mimeType: "audio/mp4", format: "mp4" });
  });

  it("falls back to the browser's default when it supports none, or cannot say", () => {
    expect(pickRecordingFormat(() => false)).toBeNull();
    expect(pickRecordingFormat(undefined)).toBeNull();
    expect(
      pickRecordingFormat((mime) => {
        if (mime.includes("webm")) throw new Error("unknown");
        return mime === "audio/ogg";
      }),
    ).toEqual({ mimeType: "audio/ogg", format: "ogg" });
  });

  it("names what the recorder made the way the backend does", () => {
    expect(formatForMime("audio/webm;codecs=opus")).toBe("webm");
    expect(formatForMime("video/webm")).toBe("webm");
    expect(formatForMime("audio/ogg; codecs=opus")).toBe("ogg");
    expect(formatForMime("audio/mp4")).toBe("mp4");
    expect(formatForMime("audio/x-wav")).toBe("wav");
    expect(formatForMime("audio/x-unknown")).toBeNull();
  });

  it("uploads with the plain MIME type", () => {
    expect(uploadContentType("audio/webm;codecs=opus")).toBe("audio/webm");
    expect(uploadContentType("video/webm")).toBe("audio/webm");
    expect(uploadContentType("")).toBe("audio/webm");
    expect(uploadContentType("audio/mp4")).toBe("audio/mp4");
  });
});

describe("the hold-to-talk gesture", () => {
  it("hold to record, release to send", () => {
    const down = gesturePress(gestureUp, 1000);
    expect(down.effect).toBe("start");
    expect(gesturePress(down.state, 1050).effect).toBeNull(); // key repeat
    const up = gestureRelease(down.state, 1000 + TAP_MS + 500);
    expect(up).toEqual({ state: gestureUp, effect: "stop" });
  });

  it("a quick tap keeps recording until the next press", () => {
    const down = gesturePress(gestureUp, 0);
    const tap = gestureRelease(down.state, TAP_MS - 1);
    expect(tap).toEqual({ state: { phase: "latched" }, effect: null });
    expect(gestureRelease(tap.state, 5000).effect).toBeNull();
    expect(gesturePress(tap.state, 5000)).toEqual({ state: gestureUp, effect: "stop" });
  });

  it("Escape cancels whatever is under way, and nothing when idle", () => {
    expect(gestureCancel(gesturePress(gestureUp, 0).state).effect).toBe("cancel");
    expect(gestureCancel({ phase: "latched" }).effect).toBe("cancel");
    expect(gestureCancel(gestureUp).effect).toBeNull();
  });
});

describe("microphone errors in words", () => {
  const named = (name: string, message = "") => Object.assign(new Error(message), { name });

  it("says what to do", () => {
    expect(microphoneErrorText(named("NotAllowedError"))).toMatch(/refused.*Allow the microphone/);
    expect(microphoneErrorText(named("NotFoundError"))).toMatch(/No microphone was found/);
    expect(microphoneErrorText(named("NotReadableError"))).toMatch(/busy/);
    expect(microphoneErrorText(named("NotSupportedError"))).toMatch(/can't record audio here/);
    expect(microphoneErrorText(new Error("boom"))).toBe("The microphone could not be used: boom");
  });
});

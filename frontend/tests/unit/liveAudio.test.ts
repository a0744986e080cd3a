import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api";
import { liveAudioErrorText, liveKitUrl, tokenFailure } from "@/lib/liveAudio";

describe("live audio (LiveKit), the parts that need no server", () => {
  it("a 503 for the token means unavailable, in the server's words; other failures are failures", () => {
    const detail = "Voice calls are not configured on this server (LIVEKIT_API_KEY and LIVEKIT_API_SECRET are unset)";
    expect(tokenFailure(new ApiError(503, detail))).toMatchObject({ status: "unavailable", detail });
    expect(tokenFailure(new ApiError(404, "Not found"))).toMatchObject({ status: "unavailable", detail: "This server has no voice calls." });
    expect(tokenFailure(new ApiError(403, "Not a member of this chat"))).toMatchObject({
      status: "failed",
      detail: "Couldn't get a call token: Not a member of this chat",
    });
    expect(tokenFailure(new Error("offline")).detail).toBe("Couldn't get a call token: offline");
  });

  it("uses the server's LiveKit URL first, then this build's, and only websocket addresses", () => {
    expect(liveKitUrl("wss://p.livekit.cloud", "ws://127.0.0.1:7880")).toBe("wss://p.livekit.cloud");
    expect(liveKitUrl(null, "ws://127.0.0.1:7880")).toBe("ws://127.0.0.1:7880");
    expect(liveKitUrl("https://p.livekit.cloud", "")).toBe("wss://p.livekit.cloud");
    expect(liveKitUrl("", "")).toBeNull();
    expect(liveKitUrl("ftp://nope", "")).toBeNull();
  });

  it("connection errors in words", () => {
    expect(liveAudioErrorText(new Error("could not establish signal connection: Failed to fetch"))).toBe(
      "Couldn't reach the live audio server. Push-to-talk still works.",
    );
    expect(liveAudioErrorText(new Error("unauthorized: invalid token"))).toBe("The live audio server refused the call token.");
    expect(liveAudioErrorText(Object.assign(new Error("denied"), { name: "NotAllowedError" }))).toMatch(/Microphone access was refused/);
    expect(liveAudioErrorText(new Error("room is full"))).toBe("Live audio failed: room is full");
  });
});

/**
 * Calls and push-to-talk through the whole client (ChatClient → VoiceClient → ChatSocket) with
 * a fake socket and a fake microphone.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api";
import { Backoff } from "@/lib/backoff";
import { inCallHere, liveCall } from "@/lib/callState";
import { ChatClient, type ClientApi } from "@/lib/client";
import { chatTurn } from "@/lib/turnState";
import type { Message } from "@/lib/types";
import type { AudioSink } from "@/lib/listening";
import type { Recorder, RecorderFactory } from "@/lib/recording";
import { FakeSocket, MemoryStorage, connect, fakeApi, me, settle } from "./fakes";


class FakeRecorder implements Recorder {
  readonly mimeType = "audio/webm;codecs=opus";
  readonly format = "webm";
  onChunk: ((chunk: Uint8Array) => void) | null = null;
  started = false;
  stopped = false;
  cancelled = false;
  /** Delivered by stop(), like MediaRecorder's last dataavailable. */
  tail: Uint8Array | null = null;

  start(onChunk: (chunk: Blob | Uint8Array) => void): void {
    this.started = true;
    this.onChunk = onChunk;
  }
  speak(...bytes: number[]): void {
    this.onChunk?.(new Uint8Array(bytes));
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.resolve();
    if (this.tail) this.onChunk?.(this.tail);
  }
  cancel(): void {
    this.cancelled = true;
    this.onChunk = null;
  }
}

let recorders: FakeRecorder[];
let factory: RecorderFactory;

function makeClient(api: ClientApi = fakeApi(), createRecorder: RecorderFactory | undefined = factory) {
  return new ChatClient({
    api,
    me,
    wsUrl: "ws://api.test",
    storage: new MemoryStorage(),
    onSessionExpired: vi.fn(),
    createSocket: (url) => new FakeSocket(url),
    backoff: new Backoff({ baseMs: 1000, random: () => 1 }),
    createRecorder,
  });
}

/** Alice called Bruno from this tab and he answered. */
async function inCall(client: ChatClient, ws: FakeSocket) {
  client.voice.startCall("c1");
  ws.receive({
    type: "call_incoming",
    chat_id: "c1",
    call_id: "k1",
    caller_id: "me",
    caller_name: "Alice A",
    caller_username: "alice",
    room_name: "chat-c1",
    started_at: "2026-01-01T00:00:00+00:00",
    ring_timeout_seconds: 30,
  });
  ws.receive({ type: "call_accepted", chat_id: "c1", call_id: "k1", user_id: "bruno", participants: ["me", "bruno"], room_name: "chat-c1", answered_at: "2026-01-01T00:00:02+00:00" });
}

const turnFrame = (state: string, extra: Record<string, unknown> = {}) => ({
  type: "voice_turn",
  chat_id: "c1",
  call_id: "k1",
  turn_id: "t1",
  speaker_id: "me",
  state,
  ...extra,
});

async function flushChain(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

beforeEach(() => {
  FakeSocket.reset();
  recorders = [];
  factory = vi.fn(async () => {
    const recorder = new FakeRecorder();
    recorders.push(recorder);
    return recorder;
  });
});

afterEach(() => vi.useRealTimers());

describe("calling", () => {
  it("call_start goes out; the ring coming back puts this tab in the call; hang up sends call_end", async () => {
    const client = makeClient();
    const ws = await connect(client);
    await inCall(client, ws);
    expect(ws.framesOfType("call_start")).toEqual([{ type: "call_start", chat_id: "c1" }]);
    expect(inCallHere(client.voice.getSnapshot().calls, "c1")).toBe(true);
    expect(liveCall(client.voice.getSnapshot().calls, "c1")?.phase).toBe("active");

    client.voice.hangUp("c1");
    expect(ws.framesOfType("call_end")).toEqual([{ type: "call_end", chat_id: "c1", call_id: "k1" }]);
    expect(inCallHere(client.voice.getSnapshot().calls, "c1")).toBe(false);
    client.stop();
  });

  it("answering and declining a call that rings for me", async () => {
    const client = makeClient();
    const ws = await connect(client);
    ws.receive({
      type: "call_incoming",
      chat_id: "c2",
      call_id: "k2",
      caller_id: "bruno",
      caller_name: "Bruno",
      caller_username: "bruno",
      room_name: "chat-c2",
      started_at: "2026-01-01T00:00:00+00:00",
      ring_timeout_seconds: 30,
    });
    expect(client.voice.accept("c2")).toBe(true);
    expect(ws.framesOfType("call_accept")).toEqual([{ type: "call_accept", chat_id: "c2", call_id: "k2" }]);
    client.voice.decline("c2");
    expect(ws.framesOfType("call_decline")).toEqual([{ type: "call_decline", chat_id: "c2", call_id: "k2" }]);
    client.stop();
  });

  it("offline: nothing is sent and the user is told why", async () => {
    const client = makeClient();
    client.start();
    await settle();
    expect(client.voice.startCall("c1")).toBe(false);
    expect(client.getSnapshot().notice?.text).toMatch(/You're offline/);
    client.stop();
  });

  it("a refused call_start shows the call already under way and the server's words", async () => {
    const client = makeClient();
    const ws = await connect(client);
    client.voice.startCall("c1");
    ws.receive({
      error: "A call is already in progress in this chat",
      chat_id: "c1",
      call: { call_id: "k0", chat_id: "c1", caller_id: "bruno", state: "active", participants: ["bruno", "carl"], started_at: "", answered_at: "", room_name: "chat-c1" },
    });
    const calls = client.voice.getSnapshot().calls;
    expect(calls.pending).toEqual({});
    expect(liveCall(calls, "c1")).toMatchObject({ callId: "k0", phase: "active" });
    expect(client.getSnapshot().notice?.text).toContain("A call is already in progress in this chat");
    client.stop();
  });

  it("after a reconnect, asks where the known calls and the watched chats stand", async () => {
    const client = makeClient();
    let ws = await connect(client);
    client.voice.watch("c9");
    await inCall(client, ws);
    expect(ws.framesOfType("call_status")).toEqual([{ type: "call_status", chat_id: "c9" }]);
    ws.serverClose(1006);
    // The server ended our call when the socket closed.
    expect(client.voice.getSnapshot().calls.calls.c1.outcome).toBe("disconnected");
    client.socket.reconnectNow();
    await settle();
    expect(FakeSocket.latest()).not.toBe(ws);
    ws = FakeSocket.latest();
    ws.open();
    expect(ws.framesOfType("call_status").map((f) => f.chat_id).sort()).toEqual(["c1", "c9"]);
    client.stop();
  });
});

describe("push to talk", () => {
  it("streams the recording after the server gives the turn, in order, then ptt_stop", async () => {
    const client = makeClient();
    const ws = await connect(client);
    await inCall(client, ws);

    await client.voice.pttPress("c1");
    expect(ws.framesOfType("ptt_start")).toEqual([{ type: "ptt_start", chat_id: "c1", format: "webm" }]);
    const recorder = recorders[0];
    expect(recorder.started).toBe(true);
    recorder.speak(1, 2);
    expect(ws.binary).toEqual([]); // held back until the turn is ours
    expect(client.voice.getSnapshot().ptt?.phase).toBe("starting");

    ws.receive(turnFrame("recording"));
    await flushChain();
    expect(client.voice.getSnapshot().ptt?.phase).toBe("recording");
    recorder.speak(3);
    recorder.tail = new Uint8Array([4, 5]);
    await client.voice.pttRelease("c1");
    await flushChain();

    const order = ws.frames.filter((f) => f instanceof Uint8Array || ["ptt_start", "ptt_stop"].includes((f as { type: string }).type));
    expect(order.map((f) => (f instanceof Uint8Array ? Array.from(f).join(",") : (f as { type: string }).type))).toEqual([
      "ptt_start",
      "1,2",
      "3",
      "4,5",
      "ptt_stop",
    ]);
    expect(client.voice.getSnapshot().ptt).toBeNull();
    expect(client.voice.getSnapshot().lastSentBytes.c1).toBe(5);
    client.stop();
  });

  it("released before the server answered: the chunks and ptt_stop follow its answer", async () => {
    const client = makeClient();
    const ws = await connect(client);
    await inCall(client, ws);
    await client.voice.pttPress("c1");
    recorders[0].speak(7);
    recorders[0].tail = new Uint8Array([8]);
    await client.voice.pttRelease("c1");
    await flushChain();
    expect(ws.binary).toEqual([]);
    expect(ws.framesOfType("ptt_stop")).toEqual([]);
    ws.receive(turnFrame("recording"));
    await flushChain();
    expect(ws.binary.map((b) => Array.from(b))).toEqual([[7], [8]]);
    expect(ws.framesOfType("ptt_stop")).toHaveLength(1);
    client.stop();
  });

  it("a refused ptt_start drops the recording and shows the server's reason, not a toast", async () => {
    const client = makeClient();
    const ws = await connect(client);
    await inCall(client, ws);
    await client.voice.pttPress("c1");
    recorders[0].speak(1);
    ws.receive({ error: "Someone else is speaking; wait for them to finish", chat_id: "c1" });
    await flushChain();
    expect(recorders[0].cancelled).toBe(true);
    expect(ws.binary).toEqual([]);
    expect(client.voice.getSnapshot().ptt).toBeNull();
    expect(client.voice.getSnapshot().pttError).toEqual({ chatId: "c1", text: "Someone else is speaking; wait for them to finish" });
    expect(client.getSnapshot().notice).toBeNull();
    client.stop();
  });

  it("Escape cancels: ptt_cancel, the microphone released, the server's late complaints not shown", async () => {
    const client = makeClient();
    const ws = await connect(client);
    await inCall(client, ws);
    await client.voice.pttPress("c1");
    ws.receive(turnFrame("recording"));
    client.voice.pttCancel("c1");
    expect(ws.framesOfType("ptt_cancel")).toEqual([{ type: "ptt_cancel", chat_id: "c1" }]);
    expect(recorders[0].cancelled).toBe(true);
    ws.receive({ error: "No recording in progress; send ptt_start first" });
    expect(client.getSnapshot().notice).toBeNull();
    // Escape while my turn is being translated cancels it too.
    ws.receive(turnFrame("idle", { reason: "cancelled" }));
    ws.receive(turnFrame("processing", { turn_id: "t2" }));
    client.voice.pttCancel("c1");
    expect(ws.framesOfType("ptt_cancel")).toHaveLength(2);
    client.stop();
  });

  it("says why it won't record: no answered call, someone else's turn, a refused microphone", async () => {
    const client = makeClient(fakeApi(), async () => {
      throw Object.assign(new Error("denied"), { name: "NotAllowedError" });
    });
    const ws = await connect(client);
    await client.voice.pttPress("c1");
    expect(client.voice.getSnapshot().pttError?.text).toBe("Push-to-talk works once the call is answered.");
    await inCall(client, ws);
    ws.receive(turnFrame("recording", { speaker_id: "bruno" }));
    await client.voice.pttPress("c1");
    expect(client.voice.getSnapshot().pttError?.text).toMatch(/Someone else has the turn/);
    ws.receive(turnFrame("idle", { speaker_id: "bruno", reason: "complete" }));
    await client.voice.pttPress("c1");
    expect(client.voice.getSnapshot().pttError?.text).toMatch(/Microphone access was refused/);
    expect(ws.framesOfType("ptt_start")).toEqual([]);
    client.stop();
  });

  it("the call ending while I record stops the recording", async () => {
    const client = makeClient();
    const ws = await connect(client);
    await inCall(client, ws);
    await client.voice.pttPress("c1");
    ws.receive(turnFrame("recording"));
    ws.receive({ type: "call_ended", chat_id: "c1", call_id: "k1", user_id: "bruno", reason: "hangup", duration_seconds: 9 });
    expect(recorders[0].cancelled).toBe(true);
    expect(client.voice.getSnapshot().ptt).toBeNull();
    expect(chatTurn(client.voice.getSnapshot().turns, "c1").phase).toBe("idle");
    client.stop();
  });
});

describe("listening", () => {
  it("plays the translation's chunks in order as they come and keeps the whole turn", async () => {
    const client = makeClient();
    const ws = await connect(client);
    const calls: string[] = [];
    const sink: AudioSink = {
      begin: (turnId, mime) => calls.push(`begin ${turnId} ${mime}`),
      push: (_turnId, chunk) => calls.push(`push ${new TextDecoder().decode(chunk)}`),
      end: (_turnId, whole) => calls.push(`end ${new TextDecoder().decode(whole)}`),
      abort: (turnId) => calls.push(`abort ${turnId}`),
    };
    client.voice.setSink(sink);
    ws.receive(turnFrame("playing", { speaker_id: "bruno", original_text: "Hola", original_language: "es", translations: { en: "[en] Hola" }, text: "[en] Hola", language: "en", audio_format: "audio/mpeg" }));
    const audio = (seq: number, data: string, final = false) => ({ type: "voice_audio", chat_id: "c1", turn_id: "t1", language: "en", seq, data: btoa(data), final });
    ws.receive(audio(1, "BB"));
    ws.receive(audio(0, "AA"));
    ws.receive(audio(0, "AA")); // repeated
    ws.receive(audio(2, "", true));
    expect(calls).toEqual(["begin t1 audio/mpeg", "push AA", "push BB", "end AABB"]);
    expect(client.voice.getSnapshot().audio.c1).toEqual({ bytes: 4, chunks: 2, turns: 1 });
    ws.receive(turnFrame("idle", { speaker_id: "bruno", reason: "complete" }));
    expect(calls).toHaveLength(4);
    client.stop();
  });

  it("a turn that fails midway plays what came; one with no audio is dropped", async () => {
    const client = makeClient();
    const ws = await connect(client);
    const calls: string[] = [];
    client.voice.setSink({
      begin: (turnId) => calls.push(`begin ${turnId}`),
      push: () => calls.push("push"),
      end: (turnId) => calls.push(`end ${turnId}`),
      abort: (turnId) => calls.push(`abort ${turnId}`),
    });
    ws.receive({ type: "voice_audio", chat_id: "c1", turn_id: "t1", language: "en", seq: 0, data: btoa("x"), final: false });
    ws.receive(turnFrame("idle", { speaker_id: "bruno", reason: "error", error: "Speech synthesis failed; try again", error_code: "tts_failed" }));
    expect(calls).toEqual(["begin t1", "push", "end t1"]);
    client.stop();
  });
});

describe("voice notes", () => {
  it("uploads the recording with its type and a client id, and shows the stored message at once", async () => {
    const api = fakeApi();
    const stored: Message = {
      message_id: "m1",
      seq: 3,
      text: "Hello there",
      from_user_id: "me",
      language: "en",
      timestamp: "2026-01-01T00:00:00+00:00",
      kind: "voice_note",
      original_text: "Hello there",
      original_language: "en",
      translated: true,
      client_msg_id: null,
    };
    api.voiceNote = vi.fn(async () => ({ chat_id: "c1", message: stored, duplicate: false }));
    const client = makeClient(api);
    await connect(client);
    const audio = new Blob([new Uint8Array([1, 2, 3])], { type: "audio/webm" });
    await client.sendVoiceNote("c1", audio, "audio/webm");
    expect(api.voiceNote).toHaveBeenCalledWith("c1", audio, "audio/webm", expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(client.state.threads.c1.messages).toEqual([stored]);

    api.voiceNote = vi.fn(async () => {
      throw new ApiError(422, "No speech was recognised in the voice note");
    });
    await expect(client.sendVoiceNote("c1", audio, "audio/webm")).rejects.toThrow("No speech was recognised in the voice note");
    client.stop();
  });
});

/**
 * Shapes the backend sends (snake_case, as on the wire). They are defined once, in the
 * backend's protocol modules (apps/<app>/protocol.py), and generated into ./protocol.ts
 * (`.venv/bin/python -m apps.realtime.typescript`); this module gives them the names the
 * app uses.
 */
import type * as wire from "./protocol";

export type {
  AccountDeletedReply,
  CallView,
  ChatDetail,
  ChatKind,
  ChatMuteReply,
  ChatPreferences,
  ChatSummary,
  Formality,
  Glossary,
  GlossaryEntry,
  HistoryPage,
  Language,
  LeaveReply,
  LogoutAllReply,
  Me,
  Member,
  MemberAddReply,
  Message,
  MessageCreateReply,
  MessageDeleteReply,
  MessageEditReply,
  MessageMeta,
  PushConfig,
  PushSubscriptionReply,
  ReactionSummary,
  ReactionUpdatedFrame,
  SearchPage,
  SearchResult,
  SnippetPart,
  SocketTicketReply,
  TokenReply,
  VoiceTokenReply,
} from "./protocol";
/** What a reply quotes, in the reader's language (apps/chats/replies.py). */
export type { ReplyQuote } from "./protocol";

/** `POST /api/chats`: the chat, and whether it was new. */
export type ChatCreated = wire.ChatCreateReply;

/** Frames the server sends about chats, the account and the socket itself. */
export type ServerFrame = wire.ChatFrame | wire.ProfileUpdatedFrame | wire.PongFrame | wire.ResumeCompleteFrame | wire.PresenceFrame;

/** A refused frame: it has no `type` (declared here so `frame.type` narrows the union). */
export type ErrorFrame = wire.ErrorFrame & { type?: undefined };

export type TurnFrameState = wire.TurnState;

/** Frames about calls and push-to-talk turns. */
export type VoiceFrame = wire.VoiceFrame;

export type CallFrame = Exclude<VoiceFrame, { type: "voice_turn" } | { type: "voice_audio" }>;
export type TurnFrame = wire.VoiceTurnFrame;
export type AudioFrame = wire.VoiceAudioFrame;

// Keyed by every voice frame's type, so a voice frame added to the protocol does not compile
// until it is routed here too.
const VOICE_FRAMES: Record<VoiceFrame["type"], true> = {
  call_incoming: true,
  call_accepted: true,
  call_declined: true,
  call_cancelled: true,
  call_missed: true,
  call_left: true,
  call_ended: true,
  call_status: true,
  voice_turn: true,
  voice_audio: true,
};

/** The frames the client hands to its voice state (calls, turns, audio). */
export const VOICE_FRAME_TYPES: ReadonlySet<string> = new Set(Object.keys(VOICE_FRAMES));

export type IncomingFrame = ServerFrame | VoiceFrame | ErrorFrame;

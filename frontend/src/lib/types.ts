/** Shapes the backend sends (snake_case, as on the wire). */

export interface Language {
  code: string;
  name: string;
  native_name: string;
}

export interface Me {
  user_id: string;
  username: string;
  first_name: string;
  last_name: string;
  native_language: string;
  created_at?: string;
}

export interface TokenReply {
  access_token: string;
  token_type: string;
  expires_in?: number;
}

export type ChatKind = "direct" | "group";

export interface ChatSummary {
  chat_id: string;
  other_username: string | null;
  other_user_id: string | null;
  last_message_preview: string | null;
  updated_at: string;
  kind?: ChatKind;
  title?: string | null;
  unread_count?: number;
  last_seq?: number;
  last_read_seq?: number;
  created?: boolean;
}

export interface Member {
  user_id: string;
  username: string;
  first_name: string;
  last_name: string;
  native_language: string;
  /** How far this member has read (the seq of the last message read; 0: none yet). */
  last_read_seq: number;
}

export interface ChatDetail extends ChatSummary {
  members: Member[];
}

export interface Message {
  message_id: string;
  text: string;
  from_user_id: string;
  language: string;
  timestamp: string;
  seq: number;
  kind?: string;
  original_text?: string;
  original_language?: string;
  /** false: the reader's translation is still owed; `text` is the original meanwhile. */
  translated?: boolean;
  client_msg_id?: string | null;
  /** Kind-specific details: a call's `outcome` and `duration_seconds`, a spoken turn's `turn_id`. */
  meta?: Record<string, unknown>;
}

export interface HistoryPage {
  messages: Message[];
  next_cursor: string | null;
}

/** Frames the server sends on the chat socket. */
export type ServerFrame =
  | { type: "message"; chat_id: string; message: Message }
  | {
      type: "message_started";
      chat_id: string;
      message_id: string;
      from_user_id: string;
      original_text: string;
      original_language: string;
      timestamp: string;
    }
  | { type: "message_withdrawn"; chat_id: string; message_id: string }
  | { type: "translation_partial"; chat_id: string; message_id: string; language: string; text: string }
  | { type: "message_updated"; chat_id: string; message: Message }
  | { type: "typing"; chat_id: string; user_id: string }
  | { type: "read"; chat_id: string; user_id: string; seq: number }
  | { type: "chat_created"; chat: ChatSummary }
  | { type: "member_added"; chat_id: string; user_id: string; username: string }
  | { type: "member_left"; chat_id: string; user_id: string }
  | {
      type: "ack";
      chat_id: string;
      client_msg_id: string | null;
      message_id: string;
      seq: number;
      timestamp?: string;
      duplicate: boolean;
    }
  | { type: "resume_complete"; chats: Record<string, number> }
  | { type: "pong" };

export interface ErrorFrame {
  type?: undefined;
  error: string;
  chat_id?: string;
  client_msg_id?: string;
  call_id?: string;
  /** A refused call_start carries the call already under way. */
  call?: CallView;
}

/** A call as `call_status` shows it. */
export interface CallView {
  call_id: string;
  chat_id: string;
  caller_id: string;
  state: "ringing" | "active";
  participants: string[];
  started_at: string;
  answered_at: string | null;
  room_name: string;
}

export type TurnFrameState = "recording" | "processing" | "playing" | "idle";

/** Frames about calls and push-to-talk turns (apps/voice/events.py). */
export type VoiceFrame =
  | {
      type: "call_incoming";
      chat_id: string;
      call_id: string;
      caller_id: string;
      caller_name: string;
      caller_username: string;
      room_name: string;
      started_at: string;
      ring_timeout_seconds: number;
    }
  | { type: "call_accepted"; chat_id: string; call_id: string; user_id: string; participants: string[]; room_name: string; answered_at: string | null }
  | { type: "call_declined"; chat_id: string; call_id: string; user_id: string; final: boolean }
  | { type: "call_cancelled"; chat_id: string; call_id: string; user_id: string }
  | { type: "call_missed"; chat_id: string; call_id: string; caller_id: string }
  | { type: "call_left"; chat_id: string; call_id: string; user_id: string; participants: string[] }
  | { type: "call_ended"; chat_id: string; call_id: string; user_id: string; reason: string; duration_seconds: number }
  | { type: "call_status"; chat_id: string; call: CallView | null }
  | {
      type: "voice_turn";
      chat_id: string;
      call_id: string;
      turn_id: string;
      speaker_id: string;
      state: TurnFrameState;
      original_text?: string;
      original_language?: string;
      translations?: Record<string, string>;
      text?: string;
      language?: string;
      audio_format?: string;
      reason?: "complete" | "cancelled" | "error";
      error?: string;
      error_code?: string;
      message_id?: string;
      seq?: number;
    }
  | { type: "voice_audio"; chat_id: string; turn_id: string; language: string; seq: number; data: string; final: boolean };

export type CallFrame = Exclude<VoiceFrame, { type: "voice_turn" } | { type: "voice_audio" }>;
export type TurnFrame = Extract<VoiceFrame, { type: "voice_turn" }>;
export type AudioFrame = Extract<VoiceFrame, { type: "voice_audio" }>;

export const VOICE_FRAME_TYPES: ReadonlySet<string> = new Set([
  "call_incoming",
  "call_accepted",
  "call_declined",
  "call_cancelled",
  "call_missed",
  "call_left",
  "call_ended",
  "call_status",
  "voice_turn",
  "voice_audio",
]);

export type IncomingFrame = ServerFrame | VoiceFrame | ErrorFrame;

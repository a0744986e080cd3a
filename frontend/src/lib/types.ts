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
  /** Not sent by the backend today; used when it is. */
  last_read_seq?: number;
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
}

export type IncomingFrame = ServerFrame | ErrorFrame;

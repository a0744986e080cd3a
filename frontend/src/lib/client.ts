/**
 * The chat client of one signed-in tab: chat state, the socket, the outbox and the REST API
 * wired together. Framework-free (React reads it through subscribe/getSnapshot), so the
 * whole flow is unit-tested without a browser.
 */
import { ApiError, type Api } from "./api";
import { Backoff } from "./backoff";
import { chatReducer, hasExpiring, initialChatState, type ChatAction, type ChatState } from "./chatState";
import { Outbox, type OutboxItem, type Refusal, type StorageLike } from "./outbox";
import { gapBefore, resumeCursors } from "./resume";
import { ChatSocket, TicketError, type ConnectionInfo, type WebSocketLike } from "./socket";
import { PresenceClient } from "./presence";
import { VOICE_FRAME_TYPES, type ChatSummary, type ErrorFrame, type GlossaryEntry, type IncomingFrame, type Me, type Message, type ReplyQuote, type ServerFrame, type VoiceFrame } from "./types";
import { uuid } from "./uuid";
import { chatTitle } from "./names";
import type { RecorderFactory } from "./recording";
import { VoiceClient } from "./voice";

export const TYPING_SEND_INTERVAL_MS = 2_500;
const HISTORY_PAGE = 50;
const GAP_PAGE = 200;

export interface Notice {
  id: number;
  text: string;
}

export interface ClientSnapshot {
  chat: ChatState;
  outbox: readonly OutboxItem[];
  connection: ConnectionInfo;
  notice: Notice | null;
  /** Bumped on every incoming message from someone else (for announcements). */
  incoming: { chatId: string; message: Message } | null;
}

export type ClientApi = Pick<
  Api,
  | "chats"
  | "chat"
  | "history"
  | "wsTicket"
  | "me"
  | "markRead"
  | "createDirect"
  | "createGroup"
  | "leave"
  | "addMember"
  | "glossary"
  | "updateGlossary"
  | "setMuted"
  | "voiceNote"
  | "logoutAll"
>;

export interface ChatClientOptions {
  api: ClientApi;
  me: Me;
  wsUrl: string;
  storage: StorageLike | null;
  onSessionExpired: (detail: string) => void;
  createSocket?: (url: string) => WebSocketLike;
  backoff?: Backoff;
  isOnline?: () => boolean;
  now?: () => number;
  /** Listen to window events (online/offline, visibility, storage); off in unit tests. */
  browserEvents?: boolean;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** Opens the microphone for push-to-talk (lib/mediaRecorder.ts in the browser). */
  createRecorder?: RecorderFactory;
}

export class ChatClient {
  readonly me: Me;
  readonly outbox: Outbox;
  readonly socket: ChatSocket;
  /** Calls and push-to-talk, over the same socket. */
  readonly voice: VoiceClient;
  /** The open chat's members: online, last seen. */
  readonly presence: PresenceClient;
  private readonly options: ChatClientOptions;
  private readonly api: ClientApi;
  private snapshot: ClientSnapshot;
  private listeners = new Set<() => void>();
  private typingSentAt = new Map<string, number>();
  private readSent = new Map<string, number>();
  private pendingReads = new Map<string, number>();
  private loading = new Map<string, Promise<void>>();
  private gapFilling = new Set<string>();
  private ticker: ReturnType<typeof setInterval> | null = null;
  private wakeTimer: ReturnType<typeof setTimeout> | null = null;
  private cleanups: Array<() => void> = [];
  // Inbox loads race live chat events: a snapshot read before a chat was created (or left)
  // must not undo what a later event said. Each live change to the chat list is stamped, and
  // a load keeps what changed after it began; a load older than one already applied is dropped.
  private chatListChanges = 0;
  private chatChangedAt = new Map<string, number>();
  private chatLoadsStarted = 0;
  private chatLoadApplied = 0;
  private noticeId = 0;
  private stopped = false;

  constructor(options: ChatClientOptions) {
    this.options = options;
    this.api = options.api;
    this.me = options.me;
    this.outbox = new Outbox(options.storage, `commonality.outbox.${options.me.user_id}`, options.now);
    this.snapshot = {
      chat: chatReducer(initialChatState, { type: "me", userId: options.me.user_id }),
      outbox: this.outbox.items(),
      connection: { status: "stopped", attempt: 0, nextRetryAt: null },
      notice: null,
      incoming: null,
    };
    this.outbox.subscribe(() => this.update({ outbox: this.outbox.items() }));
    this.socket = new ChatSocket({
      url: `${options.wsUrl}/api/ws/chat`,
      getTicket: () => this.ticket(),
      onFrame: (frame) => this.handleFrame(frame as unknown as IncomingFrame),
      onOpen: () => this.handleOpen(),
      onStatus: (info) => this.handleStatus(info),
      onAuthFailure: (detail) => this.expire(detail),
      onPolicyClose: () => this.checkSession(),
      createSocket: options.createSocket,
      backoff: options.backoff ?? new Backoff(),
      isOnline: options.isOnline,
      now: options.now,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    });
    this.presence = new PresenceClient((frame) => this.socket.send(frame));
    this.voice = new VoiceClient({
      me: options.me.user_id,
      send: (frame) => this.socket.send(frame),
      sendBinary: (data) => this.socket.sendBinary(data),
      isOpen: () => this.socket.isOpen,
      notify: (text) => this.notify(text),
      createRecorder: options.createRecorder,
      now: options.now,
    });
  }

  // --- store plumbing ------------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ClientSnapshot => this.snapshot;

  get state(): ChatState {
    return this.snapshot.chat;
  }

  private update(change: Partial<ClientSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener();
  }

  dispatch(action: ChatAction): void {
    const next = chatReducer(this.snapshot.chat, action);
    if (next !== this.snapshot.chat) this.update({ chat: next });
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  notify(text: string): void {
    this.noticeId += 1;
    this.update({ notice: { id: this.noticeId, text } });
  }

  dismissNotice(): void {
    if (this.snapshot.notice) this.update({ notice: null });
  }

  // --- lifecycle ---------------------------------------------------------------------------

  start(): void {
    this.stopped = false;
    this.socket.start();
    void this.loadChats();
    this.ticker = setInterval(() => {
      if (hasExpiring(this.state)) this.dispatch({ type: "expire", now: this.now() });
      this.voice.tick();
    }, 1000);
    if (this.options.browserEvents && typeof window !== "undefined") {
      const online = () => this.socket.setOnline(true);
      const offline = () => this.socket.setOnline(false);
      const visible = () => {
        if (document.visibilityState === "visible") this.socket.reconnectNow();
      };
      const storage = (event: StorageEvent) => {
        if (event.key === `commonality.outbox.${this.me.user_id}`) {
          this.outbox.absorb();
          this.flush();
        }
      };
      window.addEventListener("online", online);
      window.addEventListener("offline", offline);
      window.addEventListener("storage", storage);
      document.addEventListener("visibilitychange", visible);
      this.cleanups.push(() => {
        window.removeEventListener("online", online);
        window.removeEventListener("offline", offline);
        window.removeEventListener("storage", storage);
        document.removeEventListener("visibilitychange", visible);
      });
    }
  }

  stop(): void {
    this.stopped = true;
    this.voice.stop();
    this.socket.stop();
    if (this.ticker) clearInterval(this.ticker);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.ticker = null;
    this.wakeTimer = null;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private expire(detail: string): void {
    if (this.stopped) return;
    this.stop();
    this.options.onSessionExpired(detail);
  }

  private async ticket(): Promise<string> {
    try {
      const { ticket } = await this.api.wsTicket();
      return ticket;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw new TicketError(error.detail, "auth");
      throw new TicketError(error instanceof Error ? error.message : String(error), "network");
    }
  }

  /** The server closed with 1008: is the session really over, or was it the ticket? */
  private async checkSession(): Promise<boolean> {
    try {
      await this.api.me();
      return false;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.expire(error.detail);
        return true;
      }
      return false;
    }
  }

  private handleStatus(info: ConnectionInfo): void {
    const wasConnected = this.snapshot.connection.status === "connected";
    this.update({ connection: info });
    if (wasConnected && info.status !== "connected") {
      this.outbox.requeueInFlight();
      this.dispatch({ type: "connection_lost" });
      this.voice.connectionLost();
      this.presence.connectionLost();
    }
  }

  private handleOpen(): void {
    const cursors = resumeCursors(this.state);
    if (Object.keys(cursors).length) this.socket.send({ type: "resume", chats: cursors });
    for (const [chatId, seq] of this.pendingReads) this.sendRead(chatId, seq);
    this.pendingReads.clear();
    this.flush();
    this.voice.handleOpen();
    this.presence.handleOpen();
    // Also on the first open: a chat created between the first inbox load and this socket's
    // subscription announced itself to no one here.
    void this.loadChats();
  }

  // --- frames from the server --------------------------------------------------------------

  private handleFrame(frame: IncomingFrame): void {
    if (!frame.type && "error" in frame && typeof frame.error === "string") {
      const error = frame as ErrorFrame;
      if (!error.client_msg_id && this.voice.handleError(error)) return;
      this.handleError(error.error, error.chat_id, error.client_msg_id, error);
      return;
    }
    if (typeof frame.type === "string" && VOICE_FRAME_TYPES.has(frame.type)) {
      this.voice.handleFrame(frame as VoiceFrame);
      return;
    }
    const serverFrame = frame as ServerFrame;
    switch (serverFrame.type) {
      case "ack":
        this.handleAck(serverFrame);
        return;
      case "message": {
        const { chat_id: chatId, message } = serverFrame;
        if (message.from_user_id === this.me.user_id && message.client_msg_id) {
          if (this.outbox.settle(message.client_msg_id)) this.flush();
        }
        const gap = gapBefore(this.state, chatId, message.seq);
        const known = Boolean(this.state.chats[chatId]);
        this.dispatch({ type: "frame", frame: serverFrame, now: this.now() });
        if (gap) void this.fillGap(chatId, gap.after);
        if (!known) void this.loadChats();
        if (message.from_user_id !== this.me.user_id) this.update({ incoming: { chatId, message } });
        return;
      }
      case "read":
        this.dispatch({ type: "frame", frame: serverFrame, now: this.now() });
        if (serverFrame.user_id !== this.me.user_id) this.rememberRead(serverFrame.chat_id, serverFrame.user_id, serverFrame.seq);
        return;
      case "member_left":
        if (serverFrame.user_id === this.me.user_id) {
          this.outbox.dropChat(serverFrame.chat_id);
          this.chatListChanged(serverFrame.chat_id);
        }
        this.dispatch({ type: "frame", frame: serverFrame, now: this.now() });
        return;
      case "member_added":
        this.dispatch({ type: "frame", frame: serverFrame, now: this.now() });
        if (this.state.details[serverFrame.chat_id]) void this.refreshDetail(serverFrame.chat_id);
        return;
      case "chat_created":
        this.chatListChanged(serverFrame.chat.chat_id);
        this.dispatch({ type: "frame", frame: serverFrame, now: this.now() });
        return;
      case "presence":
        this.presence.handleFrame(serverFrame);
        return;
      case "pong":
      case "resume_complete":
        return;
      default:
        if (serverFrame && typeof serverFrame.type === "string") {
          this.dispatch({ type: "frame", frame: serverFrame, now: this.now() });
        }
    }
  }

  private handleAck(ack: Extract<ServerFrame, { type: "ack" }>): void {
    const item = ack.client_msg_id ? this.outbox.settle(ack.client_msg_id) : undefined;
    if (item) {
      // The stored message, as its sender sees it; the echo from the server (if it comes
      // later) replaces it, same seq and message_id.
      const already = this.state.threads[ack.chat_id]?.messages.some((m) => m.message_id === ack.message_id);
      if (!already) {
        this.dispatch({
          type: "sent",
          chatId: ack.chat_id,
          message: {
            message_id: ack.message_id,
            seq: ack.seq,
            text: item.text,
            from_user_id: this.me.user_id,
            language: this.me.native_language,
            timestamp: ack.timestamp ?? new Date(this.now()).toISOString(),
            original_text: item.text,
            original_language: this.me.native_language,
            translated: true,
            kind: "text",
            client_msg_id: item.client_msg_id,
            ...(item.reply_to ? { reply_to: item.reply_to } : {}),
          },
        });
      }
    }
    this.flush();
  }

  private handleError(error: string, chatId?: string, clientMsgId?: string, refusal: Refusal = {}): void {
    if (clientMsgId && this.outbox.get(clientMsgId)) {
      // A `busy` refusal (nothing stored) and other transient ones are resent by the outbox
      // after `retry_after`, backing off.
      this.outbox.fail(clientMsgId, error, { code: refusal.code, retry_after: refusal.retry_after });
      this.flush();
      return;
    }
    const name = chatId ? this.chatName(chatId) : null;
    this.notify(name ? `${name}: ${error}` : error);
  }

  chatName(chatId: string): string {
    return chatTitle(this.state.chats[chatId]);
  }

  // --- sending -----------------------------------------------------------------------------

  /**
   * Upload a recorded voice note: the server transcribes it and sends it as a message of kind
   * `voice_note`, translated for every member. Resolves with the stored message (shown at
   * once; the socket's copy of it merges in); rejects with the server's words.
   */
  async sendVoiceNote(chatId: string, audio: Blob, contentType: string): Promise<Message> {
    const reply = await this.api.voiceNote(chatId, audio, contentType, uuid());
    if (!this.stopped) this.dispatch({ type: "sent", chatId, message: reply.message });
    return reply.message;
  }

  /** Queue a message (a reply when `replyTo` is given); it goes out now if connected, or as
   *  soon as the socket is back. */
  send(chatId: string, text: string, replyTo?: ReplyQuote): OutboxItem {
    const item = this.outbox.add(chatId, text, undefined, replyTo);
    this.flush();
    return item;
  }

  retry(clientMsgId: string): void {
    this.outbox.retry(clientMsgId);
    if (!this.socket.isOpen) this.socket.reconnectNow();
    this.flush();
  }

  discard(clientMsgId: string): void {
    this.outbox.discard(clientMsgId);
    this.flush();
  }

  /** Send whatever the outbox has ready, one in flight per chat. */
  flush(): void {
    if (this.wakeTimer) {
      clearTimeout(this.wakeTimer);
      this.wakeTimer = null;
    }
    if (!this.socket.isOpen) return;
    for (const item of this.outbox.ready()) {
      this.outbox.markSending(item.client_msg_id);
      const sent = this.socket.send({
        type: "send",
        chat_id: item.chat_id,
        text: item.text,
        client_msg_id: item.client_msg_id,
        ...(item.reply_to ? { reply_to_seq: item.reply_to.seq } : {}),
      });
      if (!sent) {
        this.outbox.requeueInFlight();
        return;
      }
    }
    const wake = this.outbox.nextWakeUp();
    if (wake !== null && !this.stopped) {
      this.wakeTimer = setTimeout(() => this.flush(), Math.max(0, wake - this.now()) + 10);
    }
  }

  /** Toggle my reaction to message `seq` (the same emoji again takes it away, another replaces
   * it); every member, me included, hears `reaction_updated`. Refusals come as error frames. */
  react(chatId: string, seq: number, emoji: string): boolean {
    const sent = this.socket.send({ type: "react", chat_id: chatId, seq, emoji });
    if (!sent) this.notify("Not connected: the reaction was not sent. Try again when back online.");
    return sent;
  }

  /** The user is typing in a chat: tell the others, at most every few seconds. */
  typing(chatId: string): void {
    const now = this.now();
    if (now - (this.typingSentAt.get(chatId) ?? -Infinity) < TYPING_SEND_INTERVAL_MS) return;
    if (this.socket.send({ type: "typing", chat_id: chatId })) this.typingSentAt.set(chatId, now);
  }

  /** The user has seen a chat up to `seq`. */
  markRead(chatId: string, seq: number): void {
    const chat = this.state.chats[chatId];
    if (!chat || seq <= 0) return;
    const told = Math.max(chat.last_read_seq ?? 0, this.readSent.get(chatId) ?? 0, this.pendingReads.get(chatId) ?? 0);
    if (seq > (chat.last_read_seq ?? 0) || chat.unread_count) this.dispatch({ type: "read_sent", chatId, seq });
    if (seq <= told) return;
    if (this.socket.isOpen) this.sendRead(chatId, seq);
    else this.pendingReads.set(chatId, seq);
  }

  private sendRead(chatId: string, seq: number): void {
    if (this.socket.send({ type: "read", chat_id: chatId, seq })) this.readSent.set(chatId, seq);
    else this.pendingReads.set(chatId, seq);
  }

  focus(chatId: string | null): void {
    this.dispatch({ type: "focus", chatId });
  }

  // --- loading -----------------------------------------------------------------------------

  async loadChats(): Promise<void> {
    const generation = ++this.chatLoadsStarted;
    const changesBefore = this.chatListChanges;
    try {
      const chats = await this.api.chats();
      if (this.stopped || generation < this.chatLoadApplied) return;
      this.chatLoadApplied = generation;
      const changedSince = [...this.chatChangedAt].filter(([, at]) => at > changesBefore).map(([chatId]) => chatId);
      this.dispatch({ type: "chats_loaded", chats, changedSince });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) this.notifyError(error, "Couldn't load your chats");
    }
  }

  private chatListChanged(chatId: string): void {
    this.chatChangedAt.set(chatId, ++this.chatListChanges);
  }

  private notifyError(error: unknown, context: string): void {
    const detail = error instanceof ApiError ? error.detail : error instanceof Error ? error.message : String(error);
    this.notify(`${context}: ${detail}`);
  }

  /** Load a chat's members and its newest messages (once; later calls share the load). */
  openChat(chatId: string): Promise<void> {
    const existing = this.loading.get(chatId);
    if (existing) return existing;
    const load = (async () => {
      this.restoreReads(chatId);
      const [detail, page] = await Promise.all([
        this.api.chat(chatId),
        this.state.threads[chatId]?.loaded ? Promise.resolve(null) : this.api.history(chatId, { limit: HISTORY_PAGE }),
      ]);
      this.dispatch({ type: "detail_loaded", detail });
      if (page) this.dispatch({ type: "history_loaded", chatId, messages: page.messages, nextCursor: page.next_cursor, page: "latest" });
    })();
    this.loading.set(chatId, load);
    load.catch(() => undefined).finally(() => this.loading.delete(chatId));
    return load;
  }

  private async refreshDetail(chatId: string): Promise<void> {
    try {
      this.dispatch({ type: "detail_loaded", detail: await this.api.chat(chatId) });
    } catch {
      // the next open loads it
    }
  }

  /** The next older page of a chat; resolves false when there is nothing older. */
  async loadOlder(chatId: string): Promise<boolean> {
    const thread = this.state.threads[chatId];
    if (!thread?.loaded || !thread.nextCursor) return false;
    const page = await this.api.history(chatId, { cursor: thread.nextCursor, limit: HISTORY_PAGE });
    this.dispatch({ type: "history_loaded", chatId, messages: page.messages, nextCursor: page.next_cursor, page: "older" });
    return page.next_cursor !== null;
  }

  /** Messages went missing between what we hold and what just arrived: fetch them. */
  private async fillGap(chatId: string, after: number): Promise<void> {
    if (this.gapFilling.has(chatId)) return;
    this.gapFilling.add(chatId);
    try {
      let cursor: string | null = null;
      for (let page = 0; page < 5; page++) {
        const result = await this.api.history(chatId, { cursor, limit: GAP_PAGE });
        this.dispatch({ type: "history_loaded", chatId, messages: result.messages, nextCursor: result.next_cursor, page: "latest" });
        const oldest = result.messages.reduce((min, m) => Math.min(min, m.seq), Infinity);
        if (oldest <= after + 1 || !result.next_cursor) break;
        cursor = result.next_cursor;
      }
    } catch {
      // The next reconnect resumes from what we hold.
    } finally {
      this.gapFilling.delete(chatId);
    }
  }

  // --- chats -------------------------------------------------------------------------------

  async createDirect(username: string): Promise<ChatSummary> {
    const chat = await this.api.createDirect(username);
    this.chatListChanged(chat.chat_id);
    this.dispatch({ type: "chat_upsert", chat });
    return chat;
  }

  async createGroup(title: string, usernames: string[]): Promise<ChatSummary> {
    const chat = await this.api.createGroup(title, usernames);
    this.chatListChanged(chat.chat_id);
    this.dispatch({ type: "chat_upsert", chat });
    return chat;
  }

  async leave(chatId: string): Promise<void> {
    await this.api.leave(chatId);
    this.outbox.dropChat(chatId);
    this.chatListChanged(chatId);
    this.dispatch({ type: "chat_removed", chatId });
  }

  /** Mute or unmute the chat for this person on every device: stored by the server, which
   * tells their other sockets (`chat_muted`); this tab follows the reply at once. */
  async setMuted(chatId: string, muted: boolean): Promise<void> {
    const reply = await this.api.setMuted(chatId, muted);
    if (!this.stopped) {
      this.dispatch({ type: "frame", frame: { type: "chat_muted", chat_id: reply.chat_id, muted: reply.muted }, now: this.now() });
    }
  }

  /** The chat's glossary, into the state (`chat.glossaries`), where `glossary_updated` keeps it. */
  async loadGlossary(chatId: string): Promise<void> {
    const glossary = await this.api.glossary(chatId);
    if (!this.stopped) this.dispatch({ type: "glossary_loaded", glossary });
  }

  /** Store `entries` as the chat's glossary, edited from `version`; a 409 (someone else's edit
   * came first) loads the glossary now stored and rethrows, so the editor sees what changed. */
  async saveGlossary(chatId: string, version: number, entries: GlossaryEntry[]): Promise<void> {
    try {
      const glossary = await this.api.updateGlossary(chatId, version, entries);
      if (!this.stopped) this.dispatch({ type: "glossary_loaded", glossary });
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) await this.loadGlossary(chatId).catch(() => undefined);
      throw error;
    }
  }

  async addMember(chatId: string, username: string): Promise<void> {
    await this.api.addMember(chatId, username);
    await this.refreshDetail(chatId);
  }

  // --- read positions of others, remembered across reloads ---------------------------------
  // The backend tells read positions only as they change (read events), so they're kept
  // locally to show "Seen" after a reload too.

  /** Logging out on purpose: nothing of this user stays in the browser. */
  /**
   * Log out on every device, this tab included. The socket stops first: the server closes
   * every socket of the user with 1008 while answering, and this tab must not take that for
   * an expired session (it would log out with the wrong reason). When the call fails the
   * client starts again (unless the session is already over) and the error is thrown; when it
   * works, this browser's unsent messages and read marks are forgotten.
   */
  async logoutEverywhere(): Promise<void> {
    this.stop();
    try {
      await this.api.logoutAll();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) this.start();
      throw error;
    }
    this.forgetLocalData();
  }

  forgetLocalData(): void {
    for (const item of [...this.outbox.items()]) this.outbox.discard(item.client_msg_id);
    try {
      this.options.storage?.removeItem(this.readsKey());
      this.options.storage?.removeItem(`commonality.outbox.${this.me.user_id}`);
    } catch {
      // nothing to clean
    }
  }

  private readsKey(): string {
    return `commonality.reads.${this.me.user_id}`;
  }

  private readsStored(): Record<string, Record<string, number>> {
    try {
      const raw = this.options.storage?.getItem(this.readsKey());
      const parsed = raw ? JSON.parse(raw) : {};
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch {
      return {};
    }
  }

  private rememberRead(chatId: string, userId: string, seq: number): void {
    if (!this.options.storage) return;
    const all = this.readsStored();
    const chat = (all[chatId] ??= {});
    if ((chat[userId] ?? 0) >= seq) return;
    chat[userId] = seq;
    try {
      this.options.storage.setItem(this.readsKey(), JSON.stringify(all));
    } catch {
      // not essential
    }
  }

  private restoreReads(chatId: string): void {
    const reads = this.readsStored()[chatId];
    if (reads && Object.keys(reads).length) this.dispatch({ type: "reads_restored", chatId, reads });
  }
}

/**
 * The chat socket: one per tab, carrying every chat of the user.
 *
 * - Opens with a one-time ticket (POST /api/ws/ticket), never the access token in the URL.
 * - Reconnects on its own with exponential backoff and jitter; right away when the browser
 *   comes back online or the tab becomes visible again.
 * - Detects dead connections with ping/pong (a socket can stay "open" on a dead network).
 * - Knows nothing about chats: `onOpen` lets the owner resume and flush its outbox, frames go
 *   to `onFrame`.
 */
import { Backoff } from "./backoff";
import { CloseCode } from "./protocol";

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "offline" | "stopped";

export interface ConnectionInfo {
  status: ConnectionStatus;
  /** Failed attempts since the last successful connection. */
  attempt: number;
  /** When the next attempt happens (epoch ms), while reconnecting. */
  nextRetryAt: number | null;
}

/** The subset of the browser WebSocket this client uses (a fake one in unit tests). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Text frames carry JSON; binary frames (push-to-talk audio) carry bytes. */
  send(data: string | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

/** Why a ticket could not be had: `auth` means the session is over. */
export class TicketError extends Error {
  constructor(
    message: string,
    readonly kind: "auth" | "network",
  ) {
    super(message);
  }
}

export const WS_OPEN = 1;
/** The codes this client closes with itself; the server's are the generated CloseCode. */
const NORMAL_CLOSURE = 1000;
const HEARTBEAT_TIMEOUT = 4000;

export interface ChatSocketOptions {
  /** ws(s)://host/api/ws/chat */
  url: string;
  getTicket: () => Promise<string>;
  onFrame: (frame: Record<string, unknown>) => void;
  /** The socket is open: send resume, flush the outbox. */
  onOpen?: () => void;
  onStatus?: (info: ConnectionInfo) => void;
  /** The session is over (ticket refused with 401). */
  onAuthFailure?: (detail: string) => void;
  /** The server closed with 1008 (policy violation: bad credentials). Return true to stop. */
  onPolicyClose?: () => Promise<boolean> | boolean;
  createSocket?: (url: string) => WebSocketLike;
  backoff?: Backoff;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  isOnline?: () => boolean;
  now?: () => number;
}

export class ChatSocket {
  private readonly options: ChatSocketOptions;
  private readonly backoff: Backoff;
  private socket: WebSocketLike | null = null;
  private info: ConnectionInfo = { status: "stopped", attempt: 0, nextRetryAt: null };
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  /** Bumped on every (re)connect so late callbacks of an old attempt are ignored. */
  private generation = 0;

  constructor(options: ChatSocketOptions) {
    this.options = options;
    this.backoff = options.backoff ?? new Backoff();
  }

  get connection(): ConnectionInfo {
    return this.info;
  }

  get isOpen(): boolean {
    return this.info.status === "connected" && this.socket?.readyState === WS_OPEN;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (!this.online()) {
      this.setStatus("offline");
      return;
    }
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.generation += 1;
    this.clearTimers();
    this.dropSocket(NORMAL_CLOSURE, "bye");
    this.setStatus("stopped");
  }

  /** Send a frame if the socket is open; false otherwise (the caller keeps it for later). */
  send(frame: Record<string, unknown>): boolean {
    if (!this.isOpen || !this.socket) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Send bytes as one binary frame (push-to-talk audio) if the socket is open; false otherwise. */
  sendBinary(data: Uint8Array): boolean {
    if (!this.isOpen || !this.socket) return false;
    try {
      const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
      this.socket.send(whole ? (data.buffer as ArrayBuffer) : data.slice().buffer);
      return true;
    } catch {
      return false;
    }
  }

  /** Skip the wait: try now (the user pressed "Retry", the tab became visible...). */
  reconnectNow(): void {
    if (!this.running) return;
    if (this.info.status === "connected" || this.info.status === "connecting") return;
    if (!this.online()) {
      this.setStatus("offline");
      return;
    }
    this.clearRetry();
    void this.connect();
  }

  /** The browser's network went away or came back (window "offline"/"online" events). */
  setOnline(online: boolean): void {
    if (!this.running) return;
    if (online) {
      this.backoff.reset();
      this.info = { ...this.info, attempt: 0 };
      this.reconnectNow();
    } else {
      this.generation += 1;
      this.clearTimers();
      this.dropSocket(NORMAL_CLOSURE, "offline");
      this.setStatus("offline");
    }
  }

  // --- internals ---------------------------------------------------------------------------

  private online(): boolean {
    return this.options.isOnline ? this.options.isOnline() : true;
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  private setStatus(status: ConnectionStatus, nextRetryAt: number | null = null): void {
    this.info = { status, attempt: this.backoff.attempt, nextRetryAt };
    this.options.onStatus?.(this.info);
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.clearTimers();
    this.dropSocket(NORMAL_CLOSURE, "reconnecting");
    this.setStatus(this.backoff.attempt === 0 && this.info.status !== "reconnecting" ? "connecting" : "reconnecting");
    let ticket: string;
    try {
      ticket = await this.options.getTicket();
    } catch (error) {
      if (generation !== this.generation || !this.running) return;
      if (error instanceof TicketError && error.kind === "auth") {
        this.running = false;
        this.setStatus("stopped");
        this.options.onAuthFailure?.(error.message);
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (generation !== this.generation || !this.running) return;

    const url = `${this.options.url}?ticket=${encodeURIComponent(ticket)}`;
    let socket: WebSocketLike;
    try {
      socket = this.options.createSocket
        ? this.options.createSocket(url)
        : (new WebSocket(url) as unknown as WebSocketLike);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;

    socket.onopen = () => {
      if (generation !== this.generation) return;
      this.backoff.reset();
      this.setStatus("connected");
      this.startHeartbeat(generation);
      this.options.onOpen?.();
    };
    socket.onmessage = (event) => {
      if (generation !== this.generation) return;
      this.clearPongTimer();
      if (typeof event.data !== "string") return;
      let frame: unknown;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame === "object" && !Array.isArray(frame)) {
        this.options.onFrame(frame as Record<string, unknown>);
      }
    };
    socket.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
    socket.onclose = (event) => {
      if (generation !== this.generation) return;
      this.socket = null;
      this.clearTimers();
      if (!this.running) return;
      if (event.code === CloseCode.POLICY_VIOLATION) {
        void this.handlePolicyClose(generation);
        return;
      }
      if (!this.online()) {
        this.setStatus("offline");
        return;
      }
      this.scheduleReconnect();
    };
  }

  private async handlePolicyClose(generation: number): Promise<void> {
    let stop: boolean;
    try {
      stop = Boolean(await this.options.onPolicyClose?.());
    } catch {
      stop = false;
    }
    if (generation !== this.generation || !this.running) return;
    if (stop) {
      this.running = false;
      this.setStatus("stopped");
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    const delay = this.backoff.next();
    this.clearRetry();
    this.setStatus("reconnecting", this.now() + delay);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.running) return;
      if (!this.online()) {
        this.setStatus("offline");
        return;
      }
      void this.connect();
    }, delay);
  }

  private startHeartbeat(generation: number): void {
    const interval = this.options.heartbeatIntervalMs ?? 25_000;
    const timeout = this.options.heartbeatTimeoutMs ?? 10_000;
    this.heartbeatTimer = setInterval(() => {
      if (generation !== this.generation || !this.isOpen) return;
      if (!this.send({ type: "ping" })) return;
      if (this.pongTimer === null) {
        this.pongTimer = setTimeout(() => {
          this.pongTimer = null;
          if (generation !== this.generation) return;
          // No answer: the connection is dead even if the browser still calls it open.
          this.generation += 1;
          this.clearTimers();
          this.dropSocket(HEARTBEAT_TIMEOUT, "heartbeat timeout");
          this.scheduleReconnect();
        }, timeout);
      }
    }, interval);
  }

  private clearPongTimer(): void {
    if (this.pongTimer !== null) {
      clearTimeout(this.pongTimer);
      this.pongTimer = null;
    }
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private clearTimers(): void {
    this.clearRetry();
    this.clearPongTimer();
    if (this.heartbeatTimer !== null) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
    }
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onerror = null;
    socket.onclose = null;
    try {
      socket.close(code, reason);
    } catch {
      // already closed
    }
  }
}

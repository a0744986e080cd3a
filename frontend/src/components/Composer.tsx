"use client";

/**
 * The message box: Enter sends, Shift+Enter starts a new line (and Enter while an input
 * method is composing, e.g. Japanese or Chinese, only confirms the composition). Drafts
 * survive switching chats. A counter appears near the 2000-character limit.
 */
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { MESSAGE_COUNTER_FROM, MESSAGE_MAX_CHARS } from "@/lib/config";

const drafts = new Map<string, string>();
const MAX_HEIGHT_PX = 160;

export function Composer({
  chatId,
  placeholder,
  onSend,
  onTyping,
}: {
  chatId: string;
  placeholder: string;
  onSend: (text: string) => void;
  onTyping: () => void;
}) {
  const [text, setText] = useState(() => drafts.get(chatId) ?? "");
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  const length = text.length;
  const over = length > MESSAGE_MAX_CHARS;
  const canSend = text.trim().length > 0 && !over;

  useEffect(() => {
    drafts.set(chatId, text);
  }, [chatId, text]);

  // Grow with the text, up to a few lines.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  useEffect(() => {
    // Focus the box when a chat opens, except on touch screens (the keyboard would cover it).
    if (window.matchMedia?.("(pointer: fine)").matches) ref.current?.focus();
  }, [chatId]);

  function send() {
    if (!canSend) return;
    onSend(text.trim());
    setText("");
    drafts.delete(chatId);
    ref.current?.focus();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send();
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    send();
  }

  const showCounter = length >= MESSAGE_COUNTER_FROM;

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor={`${id}-input`} className="visually-hidden">
        Message
      </label>
      <div className="composer-box">
        <textarea
          ref={ref}
          id={`${id}-input`}
          data-testid="composer"
          rows={1}
          dir="auto"
          value={text}
          placeholder={placeholder}
          aria-describedby={`${id}-hint${showCounter ? ` ${id}-counter` : ""}`}
          aria-invalid={over || undefined}
          onChange={(event) => {
            setText(event.target.value);
            if (event.target.value.trim()) onTyping();
          }}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="send-btn" aria-label="Send message" disabled={!canSend}>
          <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M3.4 20.4l17.5-7.5a1 1 0 000-1.8L3.4 3.6a1 1 0 00-1.4 1.2L4.5 12l-2.5 7.2a1 1 0 001.4 1.2z" fill="currentColor" />
          </svg>
        </button>
      </div>
      <div className="composer-foot">
        <span id={`${id}-hint`} className="composer-hint">
          Enter to send · Shift+Enter for a new line
        </span>
        {showCounter && (
          <span id={`${id}-counter`} className={`counter${over ? " over" : ""}`} aria-live="polite" data-testid="char-counter">
            {over ? `${length - MESSAGE_MAX_CHARS} over the ${MESSAGE_MAX_CHARS}-character limit` : `${length} / ${MESSAGE_MAX_CHARS}`}
          </span>
        )}
      </div>
    </form>
  );
}

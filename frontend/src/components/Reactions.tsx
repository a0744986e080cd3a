"use client";

/**
 * Under a message: its reactions as chips (emoji and count; mine highlighted; who reacted in
 * the tooltip and the accessible name), each a toggle, and an "Add reaction" button that opens
 * a few quick emoji. Escape, or a click elsewhere, closes them and focus returns to the button.
 * Reacting goes over the socket (client.react); the chips change when `reaction_updated`
 * arrives, for every member alike.
 */
import { useEffect, useId, useRef, useState } from "react";
import { QUICK_REACTIONS, reactionLabel, reactorNames } from "@/lib/reactions";
import type { Message } from "@/lib/types";
import { useNameOf } from "./hooks";
import { useSession } from "./session";
import styles from "./Reactions.module.css";

function SmileIcon() {
  return (
    <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
      <circle cx="8" cy="8" r="6.3" fill="none" stroke="currentColor" strokeWidth="1.4" />
      <circle cx="5.8" cy="6.5" r="0.9" fill="currentColor" />
      <circle cx="10.2" cy="6.5" r="0.9" fill="currentColor" />
      <path d="M5.3 9.6a3.2 3.2 0 005.4 0" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />
    </svg>
  );
}

export function Reactions({ chatId, message, mine }: { chatId: string; message: Message; mine: boolean }) {
  const { client, me } = useSession();
  const nameOf = useNameOf(chatId);
  const [open, setOpen] = useState(false);
  const pickerId = useId();
  const root = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const picker = useRef<HTMLDivElement>(null);
  const reactions = message.reactions ?? [];

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) toggle.current?.focus();
  };

  useEffect(() => {
    if (!open) return;
    picker.current?.querySelector("button")?.focus();
    const outside = (event: PointerEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", outside);
    return () => document.removeEventListener("pointerdown", outside);
  }, [open]);

  const react = (emoji: string, fromPicker: boolean) => {
    client.react(chatId, message.seq, emoji);
    if (fromPicker) close(true);
  };

  return (
    <div ref={root} className={`${styles.reactions} ${mine ? styles.mine : ""}`} data-testid="reactions">
      {reactions.length > 0 && (
        <ul className={styles.chips} aria-label="Reactions">
          {reactions.map((reaction) => {
            const own = reaction.user_ids.includes(me.user_id);
            return (
              <li key={reaction.emoji}>
                <button
                  type="button"
                  className={`${styles.chip} ${own ? styles.own : ""}`}
                  aria-pressed={own}
                  aria-label={reactionLabel(reaction, me.user_id, nameOf)}
                  title={reactorNames(reaction.user_ids, me.user_id, nameOf)}
                  onClick={() => react(reaction.emoji, false)}
                  data-testid="reaction-chip"
                  data-emoji={reaction.emoji}
                  data-own={own}
                >
                  <span aria-hidden="true">{reaction.emoji}</span>
                  <span aria-hidden="true" className={styles.count}>
                    {reaction.count}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <div className={styles.add}>
        <button
          ref={toggle}
          type="button"
          className={styles.addButton}
          aria-label="Add reaction"
          title="Add reaction"
          aria-expanded={open}
          aria-controls={open ? pickerId : undefined}
          onClick={() => (open ? close(false) : setOpen(true))}
          data-testid="add-reaction"
        >
          <SmileIcon />
          <span aria-hidden="true">+</span>
        </button>
        {open && (
          <div
            ref={picker}
            id={pickerId}
            role="group"
            aria-label="Quick reactions"
            className={styles.picker}
            onKeyDown={(event) => {
              if (event.key === "Escape") {
                event.stopPropagation();
                close(true);
              }
            }}
            data-testid="reaction-picker"
          >
            {QUICK_REACTIONS.map(({ emoji, name }) => (
              <button
                key={emoji}
                type="button"
                className={styles.quick}
                aria-label={`React with ${name}`}
                title={name}
                onClick={() => react(emoji, true)}
                data-testid="quick-reaction"
                data-emoji={emoji}
              >
                <span aria-hidden="true">{emoji}</span>
              </button>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}

/** Inline icons (no icon font or emoji needed). Decorative: hidden from screen readers. */
import type { ReactNode } from "react";

/** An icon component: `drawing` on a `box`-unit square grid, shown `size` pixels wide (the
 *  caller's, else the icon's own). */
function icon({ box, size: defaultSize, className }: { box: number; size: number; className?: string }, drawing: ReactNode) {
  return function Icon({ size = defaultSize }: { size?: number }) {
    return (
      <svg width={size} height={size} viewBox={`0 0 ${box} ${box}`} aria-hidden="true" className={className}>
        {drawing}
      </svg>
    );
  };
}

export const ChatBubblesIcon = icon(
  { box: 64, size: 56, className: "illustration" },
  <>
    <path d="M8 16a8 8 0 0 1 8-8h24a8 8 0 0 1 8 8v14a8 8 0 0 1-8 8H24l-10 8v-8.5A8 8 0 0 1 8 30z" fill="currentColor" opacity="0.9" />
    <path d="M56 30v14a6 6 0 0 1-6 6v7l-9-7H32a6 6 0 0 1-6-6v-2h14a12 12 0 0 0 12-12v-2a4 4 0 0 1 4 2z" fill="currentColor" opacity="0.45" />
  </>,
);

export const PhoneIcon = icon({ box: 24, size: 20 }, <path d="M6.6 10.8a15.1 15.1 0 006.6 6.6l2.2-2.2a1 1 0 011-.25 11.4 11.4 0 003.6.57 1 1 0 011 1V20a1 1 0 01-1 1A17 17 0 013 4a1 1 0 011-1h3.5a1 1 0 011 1c0 1.25.2 2.45.57 3.57a1 1 0 01-.25 1z" fill="currentColor" />);

export const ClockIcon = icon(
  { box: 12, size: 12, className: "clock" },
  <>
    <circle cx="6" cy="6" r="5" fill="none" stroke="currentColor" strokeWidth="1.4" />
    <path d="M6 3.2V6l1.8 1.2" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" />
  </>,
);

export const PhoneOffIcon = icon({ box: 24, size: 20 }, <path d="M12 8.5c-2.9 0-5.7.6-8.2 1.8a1.2 1.2 0 00-.7 1.1v3a1 1 0 001.3 1l3.3-1a1 1 0 00.7-.9l.2-2.1a12.6 12.6 0 016.8 0l.2 2.1a1 1 0 00.7.9l3.3 1a1 1 0 001.3-1v-3a1.2 1.2 0 00-.7-1.1A19 19 0 0012 8.5z" fill="currentColor" />);

export const MicIcon = icon(
  { box: 24, size: 20 },
  <>
    <rect x="8.5" y="2.5" width="7" height="12" rx="3.5" fill="currentColor" />
    <path d="M5.5 11a6.5 6.5 0 0013 0M12 17.5V21M8.5 21h7" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
  </>,
);

export const PlayIcon = icon({ box: 16, size: 16 }, <path d="M4 2.5v11a.6.6 0 00.9.5l8.6-5.5a.6.6 0 000-1L4.9 2a.6.6 0 00-.9.5z" fill="currentColor" />);

export const PauseIcon = icon(
  { box: 16, size: 16 },
  <>
    <rect x="3.5" y="2.5" width="3" height="11" rx="1" fill="currentColor" />
    <rect x="9.5" y="2.5" width="3" height="11" rx="1" fill="currentColor" />
  </>,
);

/** "Back": a chevron pointing left. */
export const BackIcon = icon({ box: 24, size: 22 }, <path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" />);

/** "Details": an i in a circle. */
export const InfoIcon = icon(
  { box: 24, size: 20 },
  <>
    <circle cx="12" cy="12" r="9.5" fill="none" stroke="currentColor" strokeWidth="2" />
    <path d="M12 11v6M12 7.5v.01" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" />
  </>,
);

/** "Send": a paper plane. */
export const SendIcon = icon({ box: 24, size: 20 }, <path d="M3.4 20.4l17.5-7.5a1 1 0 000-1.8L3.4 3.6a1 1 0 00-1.4 1.2L4.5 12l-2.5 7.2a1 1 0 001.4 1.2z" fill="currentColor" />);

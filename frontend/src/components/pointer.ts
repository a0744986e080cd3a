import type { PointerEvent } from "react";

/** A hold-to-talk button was pressed: keep the pointer (the release may land elsewhere),
 * and take the focus so Space and Escape reach the same control. */
export function holdPointer(event: PointerEvent<HTMLButtonElement>): void {
  event.preventDefault();
  try {
    event.currentTarget.setPointerCapture(event.pointerId);
  } catch {
    // not capturable (synthetic events)
  }
  event.currentTarget.focus();
}

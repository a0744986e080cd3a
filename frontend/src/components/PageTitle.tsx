"use client";

/** A page's title in the tab (React hoists the <title> into the head and swaps it on each page). */
import { createContext, useContext } from "react";
import { documentTitle } from "@/lib/title";

/** Unread messages across chats: the signed-in part of the app provides it (AppSession). */
export const UnreadCount = createContext(0);

export function PageTitle({ title }: { title: string | null }) {
  const unread = useContext(UnreadCount);
  return <title>{documentTitle(title, unread)}</title>;
}

import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { RouteFocus } from "@/components/RouteFocus";
import "./globals.css";

// No title here: every page renders its own (components/PageTitle.tsx), which React puts in
// the head; a title from metadata would come first and win.
export const metadata: Metadata = {
  description: "Chat across languages: write in yours, everyone reads it in theirs.",
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#f6f7fb" },
    { media: "(prefers-color-scheme: dark)", color: "#111318" },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        {children}
        <RouteFocus />
      </body>
    </html>
  );
}

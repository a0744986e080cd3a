import type { ReactNode } from "react";
import { Brand } from "./Brand";

/** The frame of the pages around the chats (log in, sign up, the profile): the brand with one
 *  thing beside it in the header, then the page's main part. */
export function LandingFrame({
  brandHref,
  headerEnd,
  mainClassName,
  children,
}: {
  brandHref?: string;
  headerEnd: ReactNode;
  mainClassName: string;
  children: ReactNode;
}) {
  return (
    <div className="landing">
      <header className="landing-header">
        <Brand href={brandHref} />
        {headerEnd}
      </header>
      <main id="main" className={mainClassName}>
        {children}
      </main>
    </div>
  );
}

import Link from "next/link";
import { PageTitle } from "@/components/PageTitle";

export default function NotFound() {
  return (
    <main id="main" className="center-page">
      <PageTitle title="Page not found" />
      <div className="card narrow">
        <h1 className="h2">Page not found</h1>
        <p className="muted">There&apos;s nothing at this address.</p>
        <Link className="btn primary" href="/chats">
          Go to your chats
        </Link>
      </div>
    </main>
  );
}

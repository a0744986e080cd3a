"use client";

import { Suspense } from "react";
import { ConnectionStatus } from "@/components/ConnectionStatus";
import { LandingFrame } from "@/components/LandingFrame";
import { PageTitle } from "@/components/PageTitle";
import { SearchResults } from "@/components/SearchResults";

export default function SearchPage() {
  return (
    <LandingFrame brandHref="/chats" headerEnd={<ConnectionStatus compact />} mainClassName="center-page top">
      <PageTitle title="Search" />
      <Suspense fallback={<p className="muted pad">Loading…</p>}>
        <SearchResults />
      </Suspense>
    </LandingFrame>
  );
}

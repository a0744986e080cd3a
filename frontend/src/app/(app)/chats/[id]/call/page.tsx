"use client";

import { useParams } from "next/navigation";
import { CallPanel } from "@/components/CallPanel";

/** The call page: calling, push-to-talk and live audio for one chat. */
export default function CallPage() {
  const { id } = useParams<{ id: string }>();
  return <CallPanel key={id} chatId={id} />;
}

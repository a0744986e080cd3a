"use client";

import { useParams } from "next/navigation";
import { Conversation } from "@/components/Conversation";

export default function ConversationPage() {
  const { id } = useParams<{ id: string }>();
  return <Conversation key={id} chatId={id} />;
}

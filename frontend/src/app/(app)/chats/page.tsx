import { ChatBubblesIcon } from "@/components/Icons";

export default function ChatsIndex() {
  return (
    <div className="empty-pane">
      <div className="empty-illustration">
        <ChatBubblesIcon />
      </div>
      <h1 className="h2">Your conversations</h1>
      <p className="muted">Pick a chat on the left, or start a new one with someone&apos;s username.</p>
    </div>
  );
}

import { ChatBubblesIcon } from "@/components/Icons";
import { PageTitle } from "@/components/PageTitle";

export default function ChatsIndex() {
  return (
    <div className="empty-pane">
      <PageTitle title="Chats" />
      <div className="empty-illustration">
        <ChatBubblesIcon />
      </div>
      <h2 className="h2">Your conversations</h2>
      <p className="muted">Pick a chat on the left, or start a new one with someone&apos;s username.</p>
    </div>
  );
}

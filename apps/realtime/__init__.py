"""The socket layer: what a chat socket carries, for chats and voice together."""

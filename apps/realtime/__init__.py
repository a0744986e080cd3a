"""The socket layer: what a chat socket carries, for chats and voice together. It sits on
top (apps.realtime -> apps.voice -> apps.chats -> apps.accounts -> apps.core, nothing
upward: .importlinter) and holds no business logic; each handler reads its frame and calls a
use case (apps/chats/actions.py, apps/voice/actions.py).

- routing.py: the socket's URL (`/api/ws/chat`); any other path is refused.
- consumers.py: the consumer; handshake, limits, revocation, close codes, and each client
  frame to its handler by `type`; channel-layer events to delivery or the handlers.
- chat_handlers.py: `send`, `typing`, `read`, `resume`.
- voice_handlers.py: `call_*`, `ptt_*` and binary audio; voice_frames.py reads their fields
  and shapes their replies.
- delivery.py: messages out in order per chat, gaps filled, catch-ups paged at the
  client's pace.
- frames.py: the error frame and the field checks the handlers share.
- protocol.py: every frame, typed (typescript.py generates the front end's types from it).
"""

"""Helpers for voice tests over chat sockets (tests/support/chat_clients.py's ChatSocket)."""

from __future__ import annotations

import base64

from tests.support.chat_clients import ChatSocket


def is_type(kind: str, **fields):
    return lambda frame: (
        frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())
    )


def turn_state(state: str):
    return lambda frame: frame.get("type") == "voice_turn" and frame.get("state") == state


def of_type(frames: list[dict], kind: str) -> list[dict]:
    return [frame for frame in frames if frame.get("type") == kind]


def turn_states(frames: list[dict]) -> list[str]:
    return [frame["state"] for frame in of_type(frames, "voice_turn")]


def audio_of(frames: list[dict]) -> bytes:
    chunks = [frame for frame in of_type(frames, "voice_audio") if not frame["final"]]
    assert [frame["seq"] for frame in chunks] == list(range(len(chunks))), chunks
    return b"".join(base64.b64decode(frame["data"]) for frame in chunks)


async def call_connect(caller: ChatSocket, callee: ChatSocket, chat_id: str) -> str:
    """Ring and answer: returns the call id once both sockets know the call is active."""
    await caller.send({"type": "call_start", "chat_id": chat_id})
    incoming = (await callee.until(is_type("call_incoming", chat_id=chat_id)))[-1]
    call_id = incoming["call_id"]
    await callee.send({"type": "call_accept", "chat_id": chat_id, "call_id": call_id})
    await callee.until(is_type("call_accepted", call_id=call_id))
    await caller.until(is_type("call_accepted", call_id=call_id))
    return call_id


async def speak(
    socket: ChatSocket, chat_id: str, chunks: list[bytes], *, binary: bool = True, audio_format=None
) -> dict:
    """A whole recording: ptt_start, the audio, ptt_stop. Returns the RECORDING state frame."""
    start = {"type": "ptt_start", "chat_id": chat_id}
    if audio_format:
        start["format"] = audio_format
    await socket.send(start)
    recording = (await socket.until(lambda f: turn_state("recording")(f) or "error" in f))[-1]
    assert "error" not in recording, recording
    for chunk in chunks:
        if binary:
            await socket.communicator.send_to(bytes_data=chunk)
        else:
            await socket.send(
                {"type": "ptt_audio", "chat_id": chat_id, "data": base64.b64encode(chunk).decode()}
            )
    await socket.send({"type": "ptt_stop", "chat_id": chat_id})
    return recording

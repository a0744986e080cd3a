"""A WebSocket client on a plain socket, for tests of clients that read slowly or not at all:
its receive buffer can be made small, and it reads only when told to."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from dataclasses import dataclass

OPCODE_TEXT = 0x1
OPCODE_CLOSE = 0x8
# Linux's TCP states (tcp_info.tcpi_state).
TCP_ESTABLISHED = 1
TCP_CLOSE = 7


@dataclass
class Frame:
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        if self.opcode != OPCODE_CLOSE or len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    def json(self) -> dict:
        return json.loads(self.payload)


class RawWebSocket:
    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self.buffer = leftover

    @classmethod
    def open(cls, port: int, path: str, *, receive_buffer: int | None = None) -> RawWebSocket:
        sock = socket.socket()
        if receive_buffer is not None:
            # Before connecting, so the window it advertises is small from the start.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(1024)
            if not chunk:
                raise ConnectionError(f"handshake refused: {answer!r}")
            answer += chunk
        head, _, leftover = answer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"handshake refused: {head!r}")
        return cls(sock, leftover)

    def send_json(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        mask = os.urandom(4)
        if len(data) < 126:
            header = struct.pack("!BB", 0x80 | OPCODE_TEXT, 0x80 | len(data))
        else:
            header = struct.pack("!BBH", 0x80 | OPCODE_TEXT, 0x80 | 126, len(data))
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def tcp_state(self) -> int:
        return self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]

    def wait_until_dropped(self, timeout: float) -> float:
        """Without reading: seconds until the server ended the TCP connection."""
        started = time.monotonic()
        while self.tcp_state() == TCP_ESTABLISHED:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"the connection is still open after {timeout} s")
            time.sleep(0.05)
        return time.monotonic() - started

    def _fill(self, size: int, *, pause: float) -> bool:
        """Read until `size` bytes are buffered; False at the end of the stream."""
        while len(self.buffer) < size:
            try:
                chunk = self.sock.recv(4096)
            except ConnectionResetError:
                return False
            if not chunk:
                return False
            self.buffer += chunk
            if pause:
                time.sleep(pause)
        return True

    def frames(self, *, pause: float = 0.0, until=None) -> tuple[list[Frame], int]:
        """Frames until a close frame, the end of the stream, or one that satisfies `until`;
        with the bytes they took. `pause` seconds after every 4 KiB read: a slow reader."""
        frames: list[Frame] = []
        received = 0
        while self._fill(2, pause=pause):
            first, second = self.buffer[0], self.buffer[1]
            length, offset = second & 0x7F, 2
            if length == 126:
                if not self._fill(4, pause=pause):
                    break
                length, offset = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif length == 127:
                if not self._fill(10, pause=pause):
                    break
                length, offset = struct.unpack("!Q", self.buffer[2:10])[0], 10
            if not self._fill(offset + length, pause=pause):
                break
            frame = Frame(first & 0x0F, self.buffer[offset : offset + length])
            self.buffer = self.buffer[offset + length :]
            received += offset + length
            frames.append(frame)
            if frame.opcode == OPCODE_CLOSE or (until is not None and until(frame)):
                break
        return frames, received

    def close(self) -> None:
        self.sock.close()

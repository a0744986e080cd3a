"""A loopback stand-in for OpenAI Chat Completions, speaking its wire format.

POST /v1/chat/completions (or /chat/completions) answers a plain JSON completion, or with
"stream": true Server-Sent Events: one `chat.completion.chunk` per token, then a last chunk
with finish_reason, then `data: [DONE]`. By default the reply is a fake translation,
"[<target code>] <text>", the target read from the system prompt's "to <Language> (<code>)".

A fake token is a word with the whitespace after it, a word longer than
`TOKEN_MAX_CHARS` being cut into pieces of that length. Like the API, the fake honours the
request's `max_completion_tokens` (or the older `max_tokens`): a reply that would be longer is
cut there and ends with finish_reason "length". Set `honour_max_tokens = False` to play a
provider that ignores the limit, and `translator` to a function returning a huge text to play
one that runs away (`tokens_per_chunk` sends many tokens per chunk, so a huge reply streams
quickly).

Usage is reported as the API reports it, counted the way a real tokenizer roughly counts
(`usage_estimate`: about 4 characters a token, plus the chat format's few tokens per message):
in a plain completion's `usage`, and, for a stream whose request asks for it with
`"stream_options": {"include_usage": true}`, in a last chunk with no choices before
`data: [DONE]`. A reply cut at the request's token limit used exactly that many tokens. Every
completion's usage, streamed or not, asked for or not, is also kept in `usages` (a benchmark
reads what the provider would bill).

In a test:

    fake = FakeOpenAI()
    base_url = fake.start()          # "http://127.0.0.1:PORT/v1"
    fake.delay_seconds = 0.5         # before the first token
    ...
    fake.stop()

Standalone (benchmarks, browser tests); prints "listening on http://127.0.0.1:PORT/v1":

    python -m tests.support.fake_openai --port 0 --delay 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.support.loopback_server import LoopbackServer

# (text, target language code) -> reply
Translator = Callable[[str, str], str]

# Short enough that a text without spaces still counts as many tokens, long enough that the
# words of the tests' texts are one token each.
TOKEN_MAX_CHARS = 16
_TOKEN = re.compile(r"\S{1,%d}\s*" % TOKEN_MAX_CHARS)

_TARGET = re.compile(r"\bto\s+[^()\n]*?\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\)")


def fake_translation(text: str, target: str) -> str:
    return f"[{target}] {text}"


def target_language(body: dict[str, Any]) -> str:
    """The target code in the system prompt ("... to Spanish (es) ..."), or "??"."""
    for message in body.get("messages") or ():
        if message.get("role") == "system":
            match = _TARGET.search(str(message.get("content") or ""))
            if match:
                return match.group(1)
    return "??"


def user_text(body: dict[str, Any]) -> str:
    """The text to translate: the last user message (a request with context carries the
    conversation's earlier turns in a user message before it)."""
    users = [message for message in body.get("messages") or () if message.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else ""


class FakeOpenAI(LoopbackServer):
    base_path = "/v1"
    name = "fake OpenAI server"

    def __init__(
        self,
        *,
        delay_seconds: float = 0.0,
        token_delay_seconds: float = 0.0,
        fail_status: int | None = None,
        translator: Translator = fake_translation,
        api_key: str | None = None,
    ) -> None:
        super().__init__()
        self.delay_seconds = delay_seconds  # before the first token (or the whole reply)
        self.token_delay_seconds = token_delay_seconds  # between streamed chunks
        self.fail_status = fail_status  # answer every request with this HTTP error
        self.translator = translator
        self.api_key = api_key  # when set, requests without "Bearer <api_key>" get a 401
        self.finish_reason = "stop"  # of a reply that is not cut at the token limit
        self.honour_max_tokens = True
        self.tokens_per_chunk = 1
        self.requests: list[dict[str, Any]] = []  # JSON bodies received, in order
        self.client_ports: list[int] = []  # the client's port of each request's connection
        # The usage of every completion answered, in order (what the provider would bill).
        self.usages: list[dict[str, int]] = []
        self._lock = threading.Lock()

    # --- serving -------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/chat/completions", self._chat_completions)
        return app

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.requests)

    def usage_totals(self) -> dict[str, int]:
        """Requests answered and their tokens in all: {"requests", "prompt_tokens",
        "completion_tokens"}."""
        with self._lock:
            usages = list(self.usages)
        return {
            "requests": len(usages),
            "prompt_tokens": sum(usage["prompt_tokens"] for usage in usages),
            "completion_tokens": sum(usage["completion_tokens"] for usage in usages),
        }

    def connections_used(self) -> int:
        """How many client connections the requests so far came over."""
        with self._lock:
            return len(set(self.client_ports))

    # --- the endpoint --------------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_request_error", "body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", "body is not a JSON object")
        peer = request.transport.get_extra_info("peername") if request.transport else None
        with self._lock:
            self.requests.append(body)
            self.client_ports.append(peer[1] if peer else 0)
        authorization = request.headers.get("Authorization")
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided")
        if self.fail_status:
            return _error(self.fail_status, "server_error", "The fake server was told to fail")

        model = str(body.get("model") or "fake-model")
        tokens = _TOKEN.findall(self.translator(user_text(body), target_language(body)))
        finish_reason = self.finish_reason
        limit = _max_tokens(body) if self.honour_max_tokens else None
        if limit is not None and len(tokens) > limit:
            tokens, finish_reason = tokens[:limit], "length"
        reply = "".join(tokens)
        usage = usage_estimate(body, reply, cut_at=limit if finish_reason == "length" else None)
        with self._lock:
            self.usages.append(usage)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply, "refusal": None},
                            "logprobs": None,
                            "finish_reason": finish_reason,
                        }
                    ],
                    "usage": usage,
                }
            )

        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        step = max(1, self.tokens_per_chunk)
        try:
            await response.prepare(request)
            await response.write(chunk({"role": "assistant", "content": ""}))
            for position in range(0, len(tokens), step):
                if position and self.token_delay_seconds:
                    await asyncio.sleep(self.token_delay_seconds)
                await response.write(
                    chunk({"content": "".join(tokens[position : position + step])})
                )
            await response.write(chunk({}, finish_reason))
            stream_options = body.get("stream_options")
            if isinstance(stream_options, dict) and stream_options.get("include_usage"):
                last = {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
                await response.write(f"data: {json.dumps(last)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away (gave up waiting, say)
        return response


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": code, "param": None, "code": code}}, status=status
    )


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


# About what OpenAI's tokenizers make of English and other Latin-script text.
CHARS_PER_TOKEN = 4
# The chat format's tokens around each message, and those that prime the reply.
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3


def _tokens_estimate(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def usage_estimate(
    body: dict[str, Any], reply: str, *, cut_at: int | None = None
) -> dict[str, int]:
    """What the API would report for this request and reply: about 4 characters a token, plus
    the chat format's overhead per message; a reply cut at the token limit used `cut_at`."""
    messages = body.get("messages") or ()
    prompt = TOKENS_PER_REPLY + sum(
        TOKENS_PER_MESSAGE + _tokens_estimate(str(message.get("content") or ""))
        for message in messages
    )
    completion = cut_at if cut_at is not None else _tokens_estimate(reply)
    limit = _max_tokens(body)
    if limit is not None:
        completion = min(completion, limit)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _serve(arguments: argparse.Namespace) -> None:
    fake = FakeOpenAI(
        delay_seconds=arguments.delay,
        token_delay_seconds=arguments.token_delay,
        fail_status=arguments.fail_status,
    )
    await fake.serve_until_signalled(arguments.host, arguments.port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before the first token")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between tokens")
    parser.add_argument(
        "--fail-status", type=int, default=None, help="answer every request with this HTTP status"
    )
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()

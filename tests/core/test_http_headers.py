"""Response headers parsed without the email package (apps/core/http_headers.py): the same
HTTPMessage as http.client's own parser for every header block, and the parser botocore's
DynamoDB requests actually use."""

from __future__ import annotations

import email.message
import email.parser
import http.client
import io
from unittest import mock

import pytest

from apps.core import http_headers
from apps.core.http_headers import response_headers_parse

DYNAMODB_LIKE = (
    b"Server: Werkzeug/3.0.1 Python/3.11.2\r\n"
    b"Date: Fri, 27 Nov 2026 16:20:00 GMT\r\n"
    b"Content-Type: application/x-amz-json-1.0\r\n"
    b"x-amzn-RequestId: 6TQ0AB1Q2ZC0PEB0SQ2S0D0FNVV4KQNSO5AEMVJF66Q9ASUAAJG\r\n"
    b"x-amz-crc32: 2745614147\r\n"
    b"Content-Length: 2\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n"
    b"{}"
)

BLOCKS = {
    "dynamodb-like": DYNAMODB_LIKE,
    "bare newlines": b"A: 1\nB:2\n\nbody",
    "no space, tabs and trailing spaces": b"A:\tone  \r\nB:two\r\n\r\n",
    "empty value": b"X-Empty:\r\nY: \r\n\r\n",
    "repeated names": b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
    "latin-1 value": "X-Name: Jos\u00e9\r\n\r\n".encode("iso-8859-1"),
    "colon in value": b"Location: http://h:8000/x?a=b:c\r\n\r\n",
    "folded line": b"A: one\r\n two\r\nB: 2\r\n\r\n",
    "line that is no header": b"A: 1\r\nnot a header\r\nB: 2\r\n\r\n",
    "space before the colon": b"A : 1\r\n\r\n",
    "empty name": b": 1\r\n\r\n",
    "from line": b"From someone\r\nA: 1\r\n\r\n",
    "cut short": b"A: 1\r\nB: 2\r\n",
    "nothing": b"",
    "only the blank line": b"\r\n",
}


def _message_state(message: email.message.Message) -> dict:
    state = dict(vars(message))
    state["defects"] = [type(defect) for defect in message.defects]
    state["policy"] = repr(message.policy)
    return state


def _both(block: bytes) -> tuple[http.client.HTTPMessage, http.client.HTTPMessage, bytes, bytes]:
    original_fp, fast_fp = io.BytesIO(block), io.BytesIO(block)
    original = http_headers._email_parse_headers(original_fp)
    fast = response_headers_parse(fast_fp)
    return original, fast, original_fp.read(), fast_fp.read()


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_the_message_is_the_one_http_client_builds(name):
    original, fast, original_rest, fast_rest = _both(BLOCKS[name])

    assert type(fast) is http.client.HTTPMessage
    assert _message_state(fast) == _message_state(original)
    assert fast.items() == original.items()
    # The body is left unread, for the response to read.
    assert fast_rest == original_rest


def test_plain_lines_never_reach_the_email_parser():
    with mock.patch.object(email.parser, "Parser", side_effect=AssertionError("email parser")):
        message = response_headers_parse(io.BytesIO(DYNAMODB_LIKE))

    assert message["x-amz-crc32"] == "2745614147"
    assert message["content-length"] == "2"
    assert message.get_all("Connection") == ["keep-alive"]


def test_anything_else_goes_to_the_email_parser():
    with mock.patch.object(email.parser, "Parser", wraps=email.parser.Parser) as parser:
        response_headers_parse(io.BytesIO(BLOCKS["folded line"]))

    assert parser.call_count == 1


def test_a_line_too_long_is_refused_like_http_client():
    block = b"A: " + b"x" * 70_000 + b"\r\n\r\n"

    with pytest.raises(http.client.LineTooLong):
        http_headers._email_parse_headers(io.BytesIO(block))
    with pytest.raises(http.client.LineTooLong):
        response_headers_parse(io.BytesIO(block))


def test_too_many_headers_are_refused_like_http_client():
    block = b"".join(b"H%d: 1\r\n" % number for number in range(101)) + b"\r\n"
    fine = b"".join(b"H%d: 1\r\n" % number for number in range(99)) + b"\r\n"

    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        http_headers._email_parse_headers(io.BytesIO(block))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        response_headers_parse(io.BytesIO(block))
    assert len(response_headers_parse(io.BytesIO(fine))) == 99


def test_the_app_installs_it_for_its_dynamodb_requests(dynamo_tables):
    """Django's start (CoreConfig.ready) installed it, and a real DynamoDB request through
    PynamoDB parses its answer's headers with it."""
    from apps.accounts.models import User

    assert http.client.parse_headers is response_headers_parse
    with mock.patch.object(
        http_headers, "response_headers_parse", wraps=response_headers_parse
    ) as parse:
        http_headers.response_headers_parse_install()
        try:
            User.exists()
        finally:
            http_headers.response_headers_parse_install()

    assert parse.call_count >= 1

"""Response headers parsed without the email package, for botocore's DynamoDB calls.

http.client reads every response's headers and then hands them to `email.parser`, which
builds a FeedParser, runs its generator and a regular expression per line and applies the
email policy to each header: about an eighth of the CPU of a message's one DynamoDB request
(bench/dynamo_alone.py, profiled with py-spy), and each message's commit makes one. Every
response DynamoDB (and its stand-ins) sends is plain `Name: value` lines, for which that
machinery computes nothing a direct split does not.

`response_headers_parse` builds the same `HTTPMessage` from such lines, with the same line
and count limits, and gives any other header block (a folded line, a line that is not a
header, a block cut short) to the email parser as before, so every caller gets exactly what
http.client would have given it. Installed once per process by `response_headers_parse_install`.
"""

from __future__ import annotations

import email.parser
import http.client
import re
import threading
from typing import IO

# http.client's own limits: a longer line or more lines is refused the same way.
_MAX_LINE = getattr(http.client, "_MAXLINE", 65536)
_MAX_HEADERS = getattr(http.client, "_MAXHEADERS", 100)
_BLOCK_ENDS = (b"\r\n", b"\n", b"")

# What the email parser takes for a header line (its `headerRE`), less the empty name, the
# "From " line and continuation lines, which go to it.
_PLAIN_HEADER = re.compile(r"[\041-\071\073-\176]+:")

_email_parse_headers = http.client.parse_headers
_install_lock = threading.Lock()


def response_headers_parse(
    fp: IO[bytes], _class: type[http.client.HTTPMessage] = http.client.HTTPMessage
) -> http.client.HTTPMessage:
    """`http.client.parse_headers`, with plain header lines split directly."""
    lines: list[bytes] = []
    while True:
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
        if line in _BLOCK_ENDS:
            break
    message = _class()
    headers = []
    plain = lines[-1] != b""
    for raw in lines[:-1]:
        text = raw.decode("iso-8859-1")
        if not _PLAIN_HEADER.match(text):
            plain = False
            break
        name, _, value = text.partition(":")
        # The email policy's (compat32) header_source_parse, for a one-line header.
        headers.append((name, value.lstrip(" \t").rstrip("\r\n")))
    if not plain:
        return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
    message._headers = headers  # type: ignore[attr-defined]
    message.set_payload("")
    return message


def response_headers_parse_install() -> None:
    """Make http.client (and so urllib3 and botocore) parse response headers with
    `response_headers_parse`; once per process."""
    with _install_lock:
        http.client.parse_headers = response_headers_parse  # type: ignore[assignment]


def response_headers_parse_uninstall() -> None:
    """Put http.client's own parser back (for tests)."""
    with _install_lock:
        http.client.parse_headers = _email_parse_headers

"""The front end's wire types are the generated ones, and the protocol's close codes are the
ones the consumer closes with."""

from apps.chats import consumers
from apps.core.socket_backlog import CLOSE_TOO_FAR_BEHIND
from apps.realtime.protocol import CloseCode
from apps.realtime.typescript import COMMAND, TYPESCRIPT_PATH, protocol_typescript


def test_the_checked_in_protocol_ts_is_what_the_protocol_modules_generate():
    checked_in = TYPESCRIPT_PATH.read_text(encoding="utf-8")
    assert checked_in == protocol_typescript(), (
        f"{TYPESCRIPT_PATH.name} is stale: the protocol modules changed. Run `{COMMAND}` "
        "and commit the result (and fix what `cd frontend && npx tsc --noEmit` then reports)."
    )


def test_the_close_codes_are_those_the_socket_closes_with():
    assert {code: code.value for code in CloseCode} == {
        CloseCode.POLICY_VIOLATION: consumers.CLOSE_POLICY_VIOLATION,
        CloseCode.TICKET_INVALID: consumers.CLOSE_TICKET_INVALID,
        CloseCode.ORIGIN_NOT_ALLOWED: consumers.CLOSE_ORIGIN_NOT_ALLOWED,
        CloseCode.TOO_FAR_BEHIND: CLOSE_TOO_FAR_BEHIND,
        CloseCode.TOO_MANY_SOCKETS: consumers.CLOSE_TOO_MANY_SOCKETS,
        CloseCode.TRY_AGAIN_LATER: consumers.CLOSE_TRY_AGAIN_LATER,
    }

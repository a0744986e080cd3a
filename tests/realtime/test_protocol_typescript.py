"""The front end's wire types are the generated ones, and the protocol's close codes are the
ones the consumer closes with."""

from apps.core.socket_backlog import CLOSE_TOO_FAR_BEHIND
from apps.realtime import consumers
from apps.realtime.protocol import CloseCode
from apps.realtime.typescript import COMMAND, TYPESCRIPT_PATH, protocol_typescript


def test_the_checked_in_protocol_ts_is_what_the_protocol_modules_generate():
    checked_in = TYPESCRIPT_PATH.read_text(encoding="utf-8")
    assert checked_in == protocol_typescript(), (
        f"{TYPESCRIPT_PATH.name} is stale: the protocol modules changed. Run `{COMMAND}` "
        "and commit the result (and fix what `cd frontend && npx tsc --noEmit` then reports)."
    )


def test_the_close_codes_are_those_the_socket_closes_with():
    # The consumer closes with CloseCode itself and keeps no numbers of its own; the one
    # code core sends (Daphne's backlog bound, below the socket layer) is the same number.
    assert CloseCode.TOO_FAR_BEHIND.value == CLOSE_TOO_FAR_BEHIND
    assert [name for name in vars(consumers) if name.startswith("CLOSE_")] == []
    assert consumers.CloseCode is CloseCode

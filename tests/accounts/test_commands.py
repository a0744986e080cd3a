"""Account operations commands: users, user_show, user_disable, user_enable,
user_reset_password, user_set_language. In-process through call_command (the test tables),
plus child processes where exit codes, stdin and the one-line errors matter."""

from __future__ import annotations

import json
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts import services
from apps.accounts.selectors import user_from_access_token, user_get
from apps.accounts.tokens import user_access_token
from apps.core.errors import Unauthorized
from tests.support.accounts import user_create, user_token
from tests.support.chat_clients import ChatSocket
from tests.support.commands import command_help_description, manage_py
from tests.support.servers import child_environment

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"  # tests.support.accounts' password
NEW_PASSWORD = "a brand new passphrase"


def run(*arguments: str) -> str:
    out = StringIO()
    call_command(*arguments, stdout=out)
    return out.getvalue()


def manage(prefix: str, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    environment = child_environment({"DYNAMODB_TABLE_PREFIX": prefix})
    return manage_py(*arguments, environment=environment, stdin=stdin, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess, text: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"CommandError: {text}"], result.stderr


# --- users ----------------------------------------------------------------------------------------


def test_users_lists_everyone_by_username_and_searches_by_prefix_in_any_case():
    for name in ("Zoe", "alice", "Alfred", "bob"):
        user_create(username=name)
    output = run("users")
    lines = output.splitlines()
    assert lines[0].split() == ["USERNAME", "USER", "ID", "LANGUAGE", "ACTIVE", "CREATED"]
    # Signup stores usernames lower-case.
    assert [line.split()[0] for line in lines[1:-1]] == ["alfred", "alice", "bob", "zoe"]
    assert lines[-1] == "4 user(s)"

    found = run("users", "AL")
    assert [line.split()[0] for line in found.splitlines()[1:-1]] == ["alfred", "alice"]
    assert run("users", "nobody").splitlines()[-1] == "0 user(s)"


def test_users_limit_disabled_filter_and_json():
    users = [user_create(username=f"member{n}") for n in range(3)]
    services.user_disable(user=users[1])
    limited = run("users", "--limit", "2")
    assert limited.splitlines()[-1] == "2 of 3 user(s)"
    disabled = run("users", "--disabled")
    assert [line.split()[0] for line in disabled.splitlines()[1:-1]] == ["member1"]
    assert "DISABLED" in disabled
    listed = json.loads(run("users", "--json"))
    assert [entry["username"] for entry in listed] == ["member0", "member1", "member2"]
    assert [entry["is_active"] for entry in listed] == [True, False, True]
    assert all("password_hash" not in entry for entry in listed)
    with pytest.raises(CommandError, match="--limit"):
        run("users", "--limit", "-1")


# --- user_show ------------------------------------------------------------------------------------


def test_user_show_by_username_or_id_never_shows_the_hash():
    from apps.chats.services import chat_direct_create

    ana = user_create(username="ana", language="es")
    user_create(username="bea")
    chat_direct_create(user=ana, other_username="bea")
    for identifier in ("ANA", ana.user_id):
        output = run("user_show", identifier)
        assert "username:        ana" in output
        assert "native_language: es" in output
        assert "is_active:       True" in output
        assert "chats:           1" in output
        assert "bea" in output
        assert "argon2" not in output and "password" not in output
    shown = json.loads(run("user_show", "ana", "--json"))
    assert shown["user_id"] == ana.user_id
    assert "password_hash" not in shown
    assert [chat["other_username"] for chat in shown["chats"]] == ["bea"]


def test_an_unknown_user_is_a_one_line_error(dynamo_tables):
    for command in ("user_show", "user_disable", "user_enable", "user_reset_password"):
        result = manage(dynamo_tables, command, "nobody")
        assert_one_line_error(result, "no user with username or id 'nobody'")


# --- user_disable / user_enable -----------------------------------------------------------------


async def test_a_disabled_user_cannot_log_in_use_tokens_or_open_a_socket():
    from asgiref.sync import sync_to_async

    user = await sync_to_async(user_create)(username="carol")
    token = user_token(user)
    # A socket works before.
    socket = await ChatSocket.open(user)
    await socket.close()

    output = await sync_to_async(run)("user_disable", "carol")
    assert "carol" in output and "disabled" in output

    stored = await sync_to_async(user_get)(user_id=user.user_id)
    assert stored.is_active is False
    assert stored.token_version == user.token_version + 1
    with pytest.raises(Unauthorized):
        await sync_to_async(user_from_access_token)(token=token)
    with pytest.raises(Unauthorized):
        await sync_to_async(services.user_login)(username="carol", password=PASSWORD)
    # The socket closes with the contract's 1008, for old tokens and new ones alike
    # (a token minted now, from the stored user, still names a disabled account).
    fresh = user_access_token(user=stored)
    for attempt in (token, fresh):
        refused, _, _ = await ChatSocket.attempt(f"?token={attempt}")
        assert await refused.close_code() == 1008

    output = await sync_to_async(run)("user_enable", "carol")
    assert "enabled" in output
    again = await sync_to_async(services.user_login)(username="carol", password=PASSWORD)
    assert again.is_active is True
    # Tokens from before the account was disabled stay dead; a new login works.
    with pytest.raises(Unauthorized):
        await sync_to_async(user_from_access_token)(token=token)
    new_token = user_access_token(user=again)
    assert (await sync_to_async(user_from_access_token)(token=new_token)).user_id == user.user_id


async def test_user_disable_closes_the_users_open_sockets():
    from asgiref.sync import sync_to_async

    user = await sync_to_async(user_create)(username="carla")
    other = await sync_to_async(user_create)(username="cosmo")
    socket, other_socket = await ChatSocket.open(user), await ChatSocket.open(other)
    try:
        await socket.ping()
        await sync_to_async(run)("user_disable", "carla")
        assert await socket.close_code(timeout=1) == 1008
        await other_socket.ping()
    finally:
        await other_socket.close()


def test_disable_and_enable_are_idempotent_and_say_so():
    user_create(username="dave")
    assert "disabled" in run("user_disable", "dave")
    assert "was already disabled" in run("user_disable", "dave")
    assert user_get_by("dave").token_version == 2
    assert "enabled" in run("user_enable", "dave")
    assert "was already enabled" in run("user_enable", "dave")


def user_get_by(username: str):
    from apps.accounts.selectors import user_get_by_username

    return user_get_by_username(username=username)


# --- user_reset_password ----------------------------------------------------------------------


def test_reset_password_from_stdin_revokes_tokens(dynamo_tables):
    user = user_create(username="erin")
    token = user_token(user)
    result = manage(
        dynamo_tables, "user_reset_password", "erin", "--password-stdin", stdin=NEW_PASSWORD + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert "password of erin" in result.stdout
    assert NEW_PASSWORD not in result.stdout + result.stderr
    with pytest.raises(Unauthorized):
        user_from_access_token(token=token)
    with pytest.raises(Unauthorized):
        services.user_login(username="erin", password=PASSWORD)
    assert services.user_login(username="erin", password=NEW_PASSWORD).user_id == user.user_id


def test_reset_password_refusals(dynamo_tables):
    user_create(username="fred")
    short = manage(
        dynamo_tables, "user_reset_password", "fred", "--password-stdin", stdin="short\n"
    )
    assert_one_line_error(
        short, "cannot reset the password: password must be at least 8 characters"
    )
    empty = manage(dynamo_tables, "user_reset_password", "fred", "--password-stdin", stdin="")
    assert_one_line_error(empty, "no password on standard input")
    piped = manage(dynamo_tables, "user_reset_password", "fred", stdin=NEW_PASSWORD + "\n")
    assert_one_line_error(
        piped, "standard input is not a terminal; use --password-stdin to pipe a password"
    )
    # Nothing changed.
    assert services.user_login(username="fred", password=PASSWORD)


def test_reset_password_prompts_twice_on_a_terminal(monkeypatch):
    user_create(username="gail")
    answers = iter([NEW_PASSWORD, NEW_PASSWORD])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    run("user_reset_password", "gail")
    assert services.user_login(username="gail", password=NEW_PASSWORD)

    mismatched = iter([NEW_PASSWORD, "something else entirely"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(mismatched))
    with pytest.raises(CommandError, match="the passwords do not match"):
        run("user_reset_password", "gail")


# --- user_set_language ----------------------------------------------------------------------------


def test_set_language_updates_the_profile_and_every_chat():
    from apps.chats.selectors import chat_get, map_as_dict
    from apps.chats.services import chat_direct_create

    hana = user_create(username="hana", language="ja")
    user_create(username="ivan", language="en")
    chat = chat_direct_create(user=hana, other_username="ivan").membership
    output = run("user_set_language", "hana", "fr")
    assert "language ja -> fr (1 chat(s) updated)" in output
    assert user_get(user_id=hana.user_id).native_language == "fr"
    assert map_as_dict(chat_get(chat_id=chat.chat_id).member_languages)[hana.user_id] == "fr"
    with pytest.raises(CommandError, match="native_language must be one of"):
        run("user_set_language", "hana", "xx")


def test_set_language_tells_the_users_open_sockets():
    from apps.core.delivery import user_group
    from tests.support.channel_layers import recording_channel_layer

    hana = user_create(username="hana", language="ja")
    with recording_channel_layer() as layer:
        run("user_set_language", "hana", "fr")
    [frame] = layer.frames_to(hana.user_id)
    assert frame["type"] == "profile_updated"
    assert frame["user"]["native_language"] == "fr"
    assert [group for group, _ in layer.group_sends] == [user_group(hana.user_id)]


def test_every_account_command_has_help():
    for command in (
        "users",
        "user_show",
        "user_disable",
        "user_enable",
        "user_reset_password",
        "user_set_language",
    ):
        description = command_help_description(command)
        assert len(description.split()) > 8, (command, description)


def test_reset_password_refuses_weak_passwords_with_the_reasons(monkeypatch):
    user = user_create(username="hugobert")
    for weak, reason in (
        ("12345678", "too common"),
        (" " * 10, "only whitespace"),
        ("Hugobert!", "too similar to the username"),
    ):
        monkeypatch.setattr("sys.stdin", StringIO(weak + "\n"))
        with pytest.raises(CommandError, match=reason):
            run("user_reset_password", "hugobert", "--password-stdin")
    assert user_get(user_id=user.user_id).password_hash == user.password_hash
    assert services.user_login(username="hugobert", password=PASSWORD)

"""Chat operations commands: chat_show, export_user_data, delete_user, seed_demo."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.accounts import services as account_services
from apps.accounts.selectors import user_get_by_username
from apps.chats import presenters, selectors, services
from tests.support.accounts import user_token
from tests.support.commands import command_help_description, manage_py
from tests.support.personal_data import (
    assert_ana_deleted_leaving_only_tombstones,
    people_create,
    send,
)
from tests.support.servers import child_environment

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def run(*arguments: str, **options) -> str:
    out = StringIO()
    call_command(*arguments, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def manage(prefix: str, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    environment = child_environment({"DYNAMODB_TABLE_PREFIX": prefix})
    return manage_py(*arguments, environment=environment, stdin=stdin)


@pytest.fixture
def people():
    return people_create()


# --- chat_show ------------------------------------------------------------------------------------


def test_chat_show_lists_members_and_recent_messages_without_their_text(people):
    output = run("chat_show", people["direct"])
    assert f"chat_id:    {people['direct']}" in output
    assert "kind:       direct" in output
    assert "last_seq:   3" in output
    assert "members (2):" in output
    assert "ana" in output and "bea" in output
    for text in ("hola bea", "all good", "me alegro"):
        assert text not in output
    assert "latest 3 message(s), newest first:" in output
    seqs = [line.split()[0] for line in output.split("newest first:\n")[1].splitlines()[1:]]
    assert seqs == ["3", "2", "1"]


def test_chat_show_prints_text_only_when_asked(people):
    output = run("chat_show", people["direct"], "--show-text", "--messages", "2")
    assert "TEXT" in output
    assert "me alegro mucho" in output and "hi ana, all good" in output
    assert "hola bea" not in output  # only the latest two


def test_chat_show_json(people):
    shown = json.loads(run("chat_show", people["group"], "--json"))
    assert shown["kind"] == "group" and shown["title"] == "Trio"
    assert {member["username"] for member in shown["members"]} == {"ana", "bea", "cai"}
    assert [message["seq"] for message in shown["messages"]] == [3, 2, 1]
    assert all("text" not in message for message in shown["messages"])
    assert shown["messages"][0]["from"] == "cai"


def test_chat_show_errors(people, dynamo_tables):
    result = manage(dynamo_tables, "chat_show", "no-such-chat")
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: no chat with id 'no-such-chat'"
    with pytest.raises(CommandError, match="--messages must be 0 to 200"):
        run("chat_show", people["direct"], "--messages", "500")


# --- export_user_data -----------------------------------------------------------------------------


def test_export_holds_the_account_chats_and_messages_written(people):
    export = json.loads(run("export_user_data", "ana"))
    assert export["format"] == "commonality-user-export/1"
    account = export["account"]
    assert account["username"] == "ana" and account["native_language"] == "es"
    assert "password_hash" not in account and "argon2" not in json.dumps(export)
    assert {chat["chat_id"] for chat in export["chats"]} == {people["direct"], people["group"]}
    assert all("joined_at" in chat for chat in export["chats"])
    messages = export["messages"]
    assert sorted(message["original_text"] for message in messages) == [
        "gracias bea",
        "hola bea, ¿qué tal?",
        "me alegro mucho",
    ]
    assert all(message["original_language"] == "es" for message in messages)
    # Other people's messages are theirs, not ana's.
    assert "welcome both" not in json.dumps(export)
    assert "hi ana, all good" not in json.dumps(export)
    by_text = {message["original_text"]: message for message in messages}
    assert by_text["hola bea, ¿qué tal?"]["client_msg_id"] == "a-1"
    assert by_text["hola bea, ¿qué tal?"]["chat_id"] == people["direct"]


def test_export_includes_translations(people, translator):
    send(people["ana"], people["direct"], "otra vez")
    export = json.loads(run("export_user_data", "ana"))
    translated = [m for m in export["messages"] if m["original_text"] == "otra vez"]
    assert translated[0]["translations"] == {"en": "[en] otra vez"}


def test_export_to_a_file_is_private_and_never_overwrites(people, tmp_path, dynamo_tables):
    target = tmp_path / "ana.json"
    result = manage(dynamo_tables, "export_user_data", "ana", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "wrote" in result.stderr and "3 message(s)" in result.stderr
    assert json.loads(target.read_text())["account"]["username"] == "ana"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    again = manage(dynamo_tables, "export_user_data", "ana", "--output", str(target))
    assert again.returncode == 1
    assert again.stderr.strip() == f"CommandError: {target} exists; choose another file"


# --- delete_user ----------------------------------------------------------------------------------


def test_delete_user_needs_confirmation(people, dynamo_tables):
    result = manage(dynamo_tables, "delete_user", "ana")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: refusing to delete without confirmation; pass --yes"
    )
    assert user_get_by_username(username="ana") is not None


def test_delete_user_interactive_confirmation(people, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt="": "not-ana")
    with pytest.raises(CommandError, match="confirmation did not match; nothing deleted"):
        run("delete_user", "ana")
    assert user_get_by_username(username="ana").is_active is True
    monkeypatch.setattr("builtins.input", lambda prompt="": "ANA")
    assert "deleted ana" in run("delete_user", "ana")
    assert user_get_by_username(username="ana") is None


def test_delete_user_removes_the_person_and_anonymises_what_they_wrote(people):
    token = user_token(people["ana"])
    output = run("delete_user", "ana", "--yes")
    assert output.strip().endswith(
        "left 2 chat(s), deleted 0 empty chat(s), anonymised 3 message(s)"
    )

    assert_ana_deleted_leaving_only_tombstones(people, token=token)


def test_a_chat_nobody_is_left_in_is_deleted_with_its_messages(people):
    # bea leaves the group first; cai then is deleted too: ana alone remains...
    services.chat_leave(user=people["bea"], chat_id=people["group"])
    run("delete_user", "cai", "--yes")
    run("delete_user", "ana", "--yes")
    assert selectors.chat_get(chat_id=people["group"]) is None
    assert selectors.message_range(chat_id=people["group"], after_seq=0) == []
    # The 1:1 still has bea.
    assert selectors.chat_get(chat_id=people["direct"]) is not None


def test_delete_user_finishes_an_interrupted_deletion(people, monkeypatch):
    from apps.accounts import services as accounts_services

    def fail(*, user):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(accounts_services, "user_account_delete", fail)
    with pytest.raises(RuntimeError):
        run("delete_user", "ana", "--yes")
    assert user_get_by_username(username="ana").is_active is False  # disabled first
    monkeypatch.undo()
    output = run("delete_user", "ana", "--yes")
    assert "deleted ana" in output
    assert user_get_by_username(username="ana") is None


def test_delete_user_unknown_is_an_error(dynamo_tables):
    result = manage(dynamo_tables, "delete_user", "ghost", "--yes")
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: no user with username or id 'ghost'"


# --- seed_demo ------------------------------------------------------------------------------------

DEMO = ("demo_emma", "demo_lucia", "demo_camille", "demo_haruto")


def test_seed_demo_creates_users_chats_and_messages_once(settings):
    settings.OPENAI_API_KEY = None
    output = run("seed_demo")
    password = next(
        line.split(": ", 1)[1].split(" (random")[0]
        for line in output.splitlines()
        if line.startswith("password of the users created now:")
    )
    assert len(password) >= 12
    assert "stored untranslated" in output
    users = {name: user_get_by_username(username=name) for name in DEMO}
    assert {user.native_language for user in users.values()} == {"en", "es", "fr", "ja"}
    for name in DEMO:
        assert account_services.user_login(username=name, password=password)
    inbox = selectors.chat_inbox(user_id=users["demo_emma"].user_id)
    assert sorted(row.kind for row in inbox) == ["direct", "group"]
    group = next(row for row in inbox if row.kind == "group")
    chat = selectors.chat_get(chat_id=group.chat_id)
    assert chat.member_ids == {user.user_id for user in users.values()}
    messages = selectors.message_range(chat_id=group.chat_id, after_seq=0)
    assert len(messages) == 4
    assert {message.original_language for message in messages} == {"en", "es", "fr", "ja"}
    assert all(not selectors.map_as_dict(message.translations) for message in messages)

    again = run("seed_demo", "--password", "another long password")
    assert "messages: 0 sent, 10 already there" in again
    assert "password of the users created now" not in again
    assert [row.chat_id for row in selectors.chat_inbox(user_id=users["demo_emma"].user_id)]
    assert len(selectors.chat_inbox(user_id=users["demo_emma"].user_id)) == 2
    assert len(selectors.message_range(chat_id=group.chat_id, after_seq=0)) == 4
    # Existing users keep their password.
    assert account_services.user_login(username="demo_lucia", password=password)


def test_seed_demo_translates_through_the_real_send_path(translator):
    output = run("seed_demo", "--password", "demo password 123")
    assert "password of the users created now: as given with --password" in output
    assert "untranslated" not in output
    emma = user_get_by_username(username="demo_emma")
    group = next(row for row in selectors.chat_inbox(user_id=emma.user_id) if row.kind == "group")
    first = selectors.message_get(chat_id=group.chat_id, seq=1)
    assert first.original_text == "Welcome to the group, everyone!"
    assert selectors.map_as_dict(first.translations) == {
        "es": "[es] Welcome to the group, everyone!",
        "fr": "[fr] Welcome to the group, everyone!",
        "ja": "[ja] Welcome to the group, everyone!",
    }
    assert translator.received(), "the provider was asked"


def test_seed_demo_refuses_a_short_password(dynamo_tables):
    result = manage(dynamo_tables, "seed_demo", "--password", "short")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: cannot seed demo data: password must be at least 8 characters"
    )


def test_every_chat_command_has_help():
    for command in ("chat_show", "export_user_data", "delete_user", "seed_demo"):
        command_help_description(command)


# --- chats_languages_refresh ----------------------------------------------------------------------


def test_languages_refresh_records_read_languages_set_before_chats_kept_them(people, translator):
    """An account whose read languages were stored without reaching its chats (as before
    chats kept them) has them recorded, and its next message in Spanish reaches it as
    written; accounts listing none are left alone."""
    bea = people["bea"]
    bea.update(actions=[type(bea).read_languages.set(["es"])])
    assert presenters.member_read_languages(selectors.chat_get(chat_id=people["direct"])) == {}

    output = run("chats_languages_refresh")

    assert "1 account(s), 2 chat(s) updated" in output
    for chat_id in (people["direct"], people["group"]):
        chat = selectors.chat_get(chat_id=chat_id)
        assert presenters.member_read_languages(chat) == {bea.user_id: ["es"]}
    outcome = send(people["ana"], people["direct"], "nos vemos mañana en la playa")
    stored = selectors.message_get(chat_id=people["direct"], seq=outcome.message["seq"])
    # Stored untranslated: no translation was made for bea's English.
    assert stored.original_language == "es"
    assert selectors.map_as_dict(stored.translations) == {}
    assert translator.received() == []  # bea was the only other reader


def test_languages_refresh_all_counts_every_account(people):
    assert "3 account(s), 5 chat(s) updated" in run("chats_languages_refresh", "--all")

"""The chat services and selectors, called directly (synchronously) against the real moto
DynamoDB server: chat creation, group membership, committing messages, read marks and
language changes. Races run on real threads (concurrent.futures) released together by a
barrier, so the conditional writes really do contend.

The test server is moto made safe for concurrent transactions (apps/core/embedded_dynamo.py):
stock moto undoes other threads' writes when a transaction is cancelled, which real DynamoDB
never does.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from pynamodb.connection.base import Connection
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from apps.accounts import services as account_services
from apps.chats import selectors, services
from apps.chats.models import (
    CHAT_KIND_DIRECT,
    CHAT_KIND_GROUP,
    CLIENT_ID_KEY_PREFIX,
    MESSAGE_KEY_PREFIX,
    Chat,
    ChatMembership,
    ClientMessageId,
    Message,
)
from apps.core.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound
from tests.support.accounts import user_create

# --- helpers ---------------------------------------------------------------------------------


def _name(prefix: str) -> str:
    """A unique username with upper-case letters, to exercise case-insensitive lookups."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def race(count: int, function):
    """Run `function(i)` for i in range(count) on `count` threads released at once; returns
    each call's result or the exception it raised, in order of i."""
    barrier = threading.Barrier(count)

    def run(index):
        barrier.wait(timeout=30)
        try:
            return function(index)
        except Exception as error:  # collected for the assertions
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def all_chats() -> list[Chat]:
    return list(Chat.scan(consistent_read=True))


def all_memberships() -> list[ChatMembership]:
    return list(ChatMembership.scan(consistent_read=True))


def stored_messages(chat_id: str) -> list[Message]:
    return list(
        Message.query(chat_id, Message.sk.startswith(MESSAGE_KEY_PREFIX), consistent_read=True)
    )


def stored_client_markers(chat_id: str) -> list:
    return list(
        ClientMessageId.query(
            chat_id, ClientMessageId.sk.startswith(CLIENT_ID_KEY_PREFIX), consistent_read=True
        )
    )


def membership(user, chat_id) -> ChatMembership:
    row = selectors.chat_membership_get(user_id=user.user_id, chat_id=chat_id)
    assert row is not None, f"{user.username} has no inbox row for {chat_id}"
    return row


def draft(chat_id, sender, text, *, client_msg_id=None, translations=None):
    return services.MessageDraft(
        chat_id=chat_id,
        message_id=uuid.uuid4().hex,
        from_user_id=sender.user_id,
        original_text=text,
        original_language=sender.native_language,
        translations=dict(translations or {}),
        pending_languages=frozenset(),
        client_msg_id=client_msg_id,
        created_at=datetime.now(UTC),
    )


def commit(chat_id, sender, text, **kwargs):
    chat = selectors.chat_get(chat_id=chat_id)
    return services.message_commit(draft=draft(chat_id, sender, text, **kwargs), chat=chat)


def direct_chat(user, other) -> str:
    return services.chat_direct_create(user=user, other_username=other.username).membership.chat_id


# --- chat_direct_create ----------------------------------------------------------------------


def test_direct_create_makes_one_chat_with_both_memberships_and_returns_it_again():
    ana = user_create(language="es", username=_name("Ana"))
    bob = user_create(language="en", username=_name("Bob"))

    first = services.chat_direct_create(user=bob, other_username=ana.username)

    assert first.created is True
    chat_id = first.membership.chat_id
    assert first.member_ids == {ana.user_id, bob.user_id}
    chat = selectors.chat_get(chat_id=chat_id)
    assert chat.kind == CHAT_KIND_DIRECT
    assert chat.member_ids == {ana.user_id, bob.user_id}
    assert selectors.map_as_dict(chat.member_languages) == {ana.user_id: "es", bob.user_id: "en"}
    assert int(chat.last_seq) == 0
    bob_row, ana_row = membership(bob, chat_id), membership(ana, chat_id)
    assert (bob_row.other_user_id, bob_row.other_username) == (ana.user_id, ana.username)
    assert (ana_row.other_user_id, ana_row.other_username) == (bob.user_id, bob.username)
    for row in (bob_row, ana_row):
        assert row.kind == CHAT_KIND_DIRECT
        assert int(row.unread_count) == 0 and int(row.last_seq) == 0
        assert row.last_message_preview is None

    same_side = services.chat_direct_create(user=bob, other_username=ana.username)
    other_side = services.chat_direct_create(user=ana, other_username=bob.username)
    other_case = services.chat_direct_create(user=ana, other_username=bob.username.upper())

    assert (same_side.created, same_side.membership.chat_id) == (False, chat_id)
    assert (other_side.created, other_side.membership.chat_id) == (False, chat_id)
    assert (other_case.created, other_case.membership.chat_id) == (False, chat_id)
    # Each caller gets their own view of the chat.
    assert same_side.membership.other_username == ana.username
    assert other_side.membership.other_username == bob.username
    assert [c.chat_id for c in all_chats()] == [chat_id]
    assert sorted(r.user_id for r in all_memberships()) == sorted([ana.user_id, bob.user_id])


def test_eight_concurrent_direct_creations_from_both_sides_make_exactly_one_chat():
    ana = user_create(language="es")
    bob = user_create(language="en")

    def create(index):
        user, other = (ana, bob) if index % 2 == 0 else (bob, ana)
        return services.chat_direct_create(user=user, other_username=other.username)

    results = race(8, create)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], errors
    chat_ids = {r.membership.chat_id for r in results}
    assert len(chat_ids) == 1
    (chat_id,) = chat_ids
    assert sum(r.created for r in results) == 1
    assert [c.chat_id for c in all_chats()] == [chat_id]
    rows = all_memberships()
    assert sorted((r.user_id, r.chat_id) for r in rows) == sorted(
        [(ana.user_id, chat_id), (bob.user_id, chat_id)]
    )
    # Each result is the caller's own row.
    for index, result in enumerate(results):
        caller = ana if index % 2 == 0 else bob
        assert result.membership.user_id == caller.user_id


def test_a_chat_with_yourself_is_refused_with_400_and_creates_nothing():
    ana = user_create(language="es", username=_name("Ana"))

    for spelling in (ana.username, ana.username.upper(), ana.username.lower()):
        with pytest.raises(BadRequest) as raised:
            services.chat_direct_create(user=ana, other_username=spelling)
        assert raised.value.status == 400
        assert raised.value.detail

    assert all_chats() == []
    assert all_memberships() == []


def test_a_chat_with_an_unknown_username_is_not_found_and_creates_nothing():
    ana = user_create(language="es")

    for username in ("nobody_here", ""):
        with pytest.raises(NotFound) as raised:
            services.chat_direct_create(user=ana, other_username=username)
        assert raised.value.status == 404

    assert all_chats() == []
    assert all_memberships() == []


# --- groups ----------------------------------------------------------------------------------


def test_group_create_refuses_bad_titles_and_too_few_distinct_other_members():
    me = user_create(language="en", username=_name("Me"))
    bea = user_create(language="es", username=_name("Bea"))
    cal = user_create(language="fr", username=_name("Cal"))
    two_others = [bea.username, cal.username]

    for title in ("", "   ", "x" * 101):
        with pytest.raises(InvalidInput):
            services.chat_group_create(user=me, title=title, usernames=two_others)

    too_few = (
        [],
        [bea.username],
        [bea.username, bea.username.upper(), bea.username.lower()],  # one person, three spellings
        [bea.username, me.username],  # yourself does not count
        [bea.username, me.username.upper()],
    )
    for usernames in too_few:
        with pytest.raises(InvalidInput):
            services.chat_group_create(user=me, title="Team", usernames=usernames)

    with pytest.raises(NotFound):
        services.chat_group_create(
            user=me, title="Team", usernames=[bea.username, cal.username, "nobody_here"]
        )

    assert all_chats() == []
    assert all_memberships() == []


def test_group_create_makes_rows_for_every_member_and_records_their_languages():
    me = user_create(language="en", username=_name("Me"))
    bea = user_create(language="es", username=_name("Bea"))
    cal = user_create(language="fr", username=_name("Cal"))

    title = "t" * 100  # the longest title allowed
    created = services.chat_group_create(
        user=me,
        title=title,
        usernames=[bea.username, cal.username.upper(), bea.username.lower(), me.username],
    )

    assert created.created is True
    chat_id = created.membership.chat_id
    assert created.membership.user_id == me.user_id
    members = {me.user_id, bea.user_id, cal.user_id}
    assert created.member_ids == members
    chat = selectors.chat_get(chat_id=chat_id)
    assert chat.kind == CHAT_KIND_GROUP
    assert chat.title == title
    assert chat.member_ids == members
    assert selectors.map_as_dict(chat.member_languages) == {
        me.user_id: "en",
        bea.user_id: "es",
        cal.user_id: "fr",
    }
    rows = all_memberships()
    assert sorted(r.user_id for r in rows) == sorted(members)
    for row in rows:
        assert row.chat_id == chat_id
        assert row.kind == CHAT_KIND_GROUP
        assert row.title == title
        assert row.other_user_id is None

    stripped = services.chat_group_create(
        user=me, title="  Trip  ", usernames=[bea.username, cal.username]
    )
    assert stripped.membership.chat_id != chat_id  # groups are never deduplicated
    assert selectors.chat_get(chat_id=stripped.membership.chat_id).title == "Trip"


def test_member_add_only_by_a_member_only_to_groups_and_never_twice():
    me = user_create(language="en")
    bea = user_create(language="es")
    cal = user_create(language="fr")
    dan = user_create(language="de")
    eve = user_create(language="pt")
    group_id = services.chat_group_create(
        user=me, title="Team", usernames=[bea.username, cal.username]
    ).membership.chat_id
    direct_id = direct_chat(me, bea)

    with pytest.raises(NotFound, match="^Chat not found$"):
        services.chat_member_add(user=dan, chat_id=group_id, username=eve.username)
    with pytest.raises(BadRequest):
        services.chat_member_add(user=me, chat_id=direct_id, username=dan.username)
    with pytest.raises(NotFound):
        services.chat_member_add(user=me, chat_id=group_id, username="nobody_here")
    with pytest.raises(NotFound):
        services.chat_member_add(user=me, chat_id="no-such-chat", username=dan.username)
    assert selectors.chat_membership_get(user_id=eve.user_id, chat_id=group_id) is None
    assert selectors.chat_get(chat_id=direct_id).member_ids == {me.user_id, bea.user_id}

    chat, newcomer = services.chat_member_add(user=bea, chat_id=group_id, username=dan.username)

    assert newcomer.user_id == dan.user_id
    assert dan.user_id in chat.member_ids
    stored = selectors.chat_get(chat_id=group_id)
    assert stored.member_ids == {me.user_id, bea.user_id, cal.user_id, dan.user_id}
    assert selectors.map_as_dict(stored.member_languages)[dan.user_id] == "de"
    row = membership(dan, group_id)
    assert row.kind == CHAT_KIND_GROUP and row.title == "Team"
    assert int(row.unread_count) == 0

    for adder in (me, dan):
        with pytest.raises(Conflict):
            services.chat_member_add(user=adder, chat_id=group_id, username=dan.username.upper())
    assert len(selectors.chat_get(chat_id=group_id).member_ids) == 4


def test_leaving_a_group_removes_the_member_and_their_inbox_row():
    me = user_create(language="en")
    bea = user_create(language="es")
    cal = user_create(language="fr")
    group_id = services.chat_group_create(
        user=me, title="Team", usernames=[bea.username, cal.username]
    ).membership.chat_id
    direct_id = direct_chat(me, bea)

    with pytest.raises(BadRequest):
        services.chat_leave(user=me, chat_id=direct_id)
    assert selectors.chat_get_for_member(chat_id=direct_id, user_id=me.user_id)

    services.chat_leave(user=cal, chat_id=group_id)

    with pytest.raises(NotFound, match="^Chat not found$"):
        selectors.chat_get_for_member(chat_id=group_id, user_id=cal.user_id)
    assert selectors.chat_membership_get(user_id=cal.user_id, chat_id=group_id) is None
    assert [r.chat_id for r in selectors.chat_inbox(user_id=cal.user_id)] == []
    stored = selectors.chat_get(chat_id=group_id)
    assert stored.member_ids == {me.user_id, bea.user_id}
    assert selectors.map_as_dict(stored.member_languages) == {me.user_id: "en", bea.user_id: "es"}
    with pytest.raises(NotFound, match="^Chat not found$"):
        services.chat_leave(user=cal, chat_id=group_id)

    # The others keep chatting; nothing brings the leaver's row back.
    committed = commit(group_id, me, "still here?")
    assert int(committed.message.seq) == 1
    assert selectors.chat_membership_get(user_id=cal.user_id, chat_id=group_id) is None
    assert int(membership(bea, group_id).unread_count) == 1
    with pytest.raises(Forbidden):
        commit(group_id, cal, "let me back")


# --- message_commit --------------------------------------------------------------------------


def test_a_commit_from_a_stale_chat_retries_from_the_refusal_without_reading(monkeypatch):
    me = user_create(language="en")
    bea = user_create(language="es")
    chat_id = direct_chat(me, bea)
    stale_chat = selectors.chat_get(chat_id=chat_id)
    commit(chat_id, bea, "uno")
    commit(chat_id, bea, "dos")
    reads = []
    monkeypatch.setattr(services, "chat_get", lambda **kwargs: reads.append("chat") or None)
    monkeypatch.setattr(
        services, "_message_of_client_id", lambda draft: reads.append("marker") or None
    )

    committed = services.message_commit(
        draft=draft(chat_id, me, "three", client_msg_id="fresh"), chat=stale_chat
    )

    assert int(committed.message.seq) == 3 and committed.duplicate is False
    assert int(committed.chat.last_seq) == 3
    assert reads == []  # the refusal carried the chat; the client id was not the problem


def test_ten_concurrent_commits_get_gapless_unique_sequence_numbers():
    me = user_create(language="en")
    bea = user_create(language="es")
    cal = user_create(language="fr")
    chat_id = services.chat_group_create(
        user=me, title="Race", usernames=[bea.username, cal.username]
    ).membership.chat_id
    stale_chat = selectors.chat_get(chat_id=chat_id)  # every writer starts from last_seq 0
    drafts = [
        draft(chat_id, me, f"message {i}", translations={"es": f"[es] {i}", "fr": f"[fr] {i}"})
        for i in range(10)
    ]

    results = race(10, lambda i: services.message_commit(draft=drafts[i], chat=stale_chat))

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], errors
    assert sorted(int(r.message.seq) for r in results) == list(range(1, 11))
    assert not any(r.duplicate for r in results)
    stored = stored_messages(chat_id)
    assert sorted(int(m.seq) for m in stored) == list(range(1, 11))
    assert sorted(m.message_id for m in stored) == sorted(d.message_id for d in drafts)
    by_id = {m.message_id: m for m in stored}
    for result, sent in zip(results, drafts, strict=True):
        assert int(by_id[sent.message_id].seq) == int(result.message.seq)
        assert by_id[sent.message_id].original_text == sent.original_text
    assert int(selectors.chat_get(chat_id=chat_id).last_seq) == 10
    for member in (me, bea, cal):
        assert int(membership(member, chat_id).last_seq) == 10
    assert int(membership(me, chat_id).unread_count) == 0
    assert int(membership(me, chat_id).last_read_seq) == 10
    assert int(membership(bea, chat_id).unread_count) == 10
    assert int(membership(cal, chat_id).unread_count) == 10
    # The inbox preview is the last message, in each reader's language.
    last = next(m for m in stored if int(m.seq) == 10)
    index = last.original_text.removeprefix("message ")
    assert membership(me, chat_id).last_message_preview == f"message {index}"
    assert membership(bea, chat_id).last_message_preview == f"[es] {index}"
    assert membership(cal, chat_id).last_message_preview == f"[fr] {index}"


def test_concurrent_commits_from_both_members_count_unread_from_the_others():
    ana = user_create(language="es")
    bob = user_create(language="en")
    chat_id = direct_chat(ana, bob)
    stale_chat = selectors.chat_get(chat_id=chat_id)
    senders = [ana if i % 2 else bob for i in range(10)]
    drafts = [draft(chat_id, sender, f"m{i}") for i, sender in enumerate(senders)]

    results = race(10, lambda i: services.message_commit(draft=drafts[i], chat=stale_chat))

    assert [r for r in results if isinstance(r, Exception)] == []
    stored = sorted(stored_messages(chat_id), key=lambda m: int(m.seq))
    assert [int(m.seq) for m in stored] == list(range(1, 11))
    for reader in (ana, bob):
        # Sending marks the chat read: unread are the others' messages after your last one.
        own = [int(m.seq) for m in stored if m.from_user_id == reader.user_id]
        expected = sum(
            1 for m in stored if m.from_user_id != reader.user_id and int(m.seq) > max(own)
        )
        row = membership(reader, chat_id)
        assert int(row.unread_count) == expected
        assert int(row.last_read_seq) == max(own)
        assert int(row.last_seq) == 10


def test_a_commit_outrun_by_nine_other_writers_still_gets_the_next_seq(monkeypatch):
    """Deterministic form of the race above: each time this writer's transaction is about to
    reach DynamoDB, another writer commits first (nine other writers in all). Every lost
    race means some other message was stored, so the writer should get seq 10 in the end."""
    ana = user_create(language="es")
    bob = user_create(language="en")
    chat_id = direct_chat(bob, ana)
    stale_chat = selectors.chat_get(chat_id=chat_id)
    mine = draft(chat_id, bob, "mine")
    competitors = [draft(chat_id, ana, f"other {i}") for i in range(9)]
    original = Connection.transact_write_items

    def transact_write_items(self, *args, **kwargs):
        if mine.message_id in repr((args, kwargs)) and competitors:
            other = competitors.pop(0)
            services.message_commit(draft=other, chat=selectors.chat_get(chat_id=chat_id))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transact_write_items", transact_write_items)

    committed = services.message_commit(draft=mine, chat=stale_chat)

    assert int(committed.message.seq) == 10
    assert sorted(int(m.seq) for m in stored_messages(chat_id)) == list(range(1, 11))


def test_direct_create_that_meets_a_transaction_conflict_returns_the_chat(monkeypatch):
    """Real DynamoDB cancels one of two overlapping transactions on the same items with the
    reason TransactionConflict (moto never does). When both people open the chat at the same
    moment, the one who gets the conflict should still get the chat the other one created."""
    ana = user_create(language="es")
    bob = user_create(language="en")
    original = Connection.transact_write_items
    intercepted = []

    def transact_write_items(self, *args, **kwargs):
        if not intercepted:
            intercepted.append(True)
            # The other side's creation wins the overlap ...
            services.chat_direct_create(user=ana, other_username=bob.username)
            # ... and this one is cancelled the way DynamoDB does it.
            reasons = [CancellationReason(code="TransactionConflict"), None, None]
            cause = VerboseClientError(
                {
                    "Error": {
                        "Code": "TransactionCanceledException",
                        "Message": "Transaction cancelled, please refer cancellation reasons "
                        "for specific reasons [TransactionConflict, None, None]",
                    }
                },
                "TransactWriteItems",
                cancellation_reasons=reasons,
            )
            raise TransactWriteError("Failed to write transaction items", cause)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transact_write_items", transact_write_items)

    result = services.chat_direct_create(user=bob, other_username=ana.username)

    assert result.created is False
    assert result.membership.user_id == bob.user_id
    assert [c.chat_id for c in all_chats()] == [result.membership.chat_id]


def test_a_resent_client_msg_id_returns_the_first_message_and_stores_nothing_new():
    ana = user_create(language="es")
    bob = user_create(language="en")
    chat_id = direct_chat(bob, ana)
    stale_chat = selectors.chat_get(chat_id=chat_id)

    first = services.message_commit(
        draft=draft(chat_id, bob, "Hello", client_msg_id="m1", translations={"es": "[es] Hello"}),
        chat=stale_chat,
    )
    assert first.duplicate is False and int(first.message.seq) == 1

    for chat in (stale_chat, selectors.chat_get(chat_id=chat_id)):
        again = services.message_commit(
            draft=draft(chat_id, bob, "Hello (resent)", client_msg_id="m1"), chat=chat
        )
        assert again.duplicate is True
        assert again.message.message_id == first.message.message_id
        assert int(again.message.seq) == 1
        assert again.message.original_text == "Hello"

    assert [m.message_id for m in stored_messages(chat_id)] == [first.message.message_id]
    assert len(stored_client_markers(chat_id)) == 1
    assert int(selectors.chat_get(chat_id=chat_id).last_seq) == 1
    assert int(membership(ana, chat_id).unread_count) == 1
    assert membership(ana, chat_id).last_message_preview == "[es] Hello"

    # The id belongs to its sender: the other member may use the same one.
    theirs = commit(chat_id, ana, "Hola", client_msg_id="m1")
    assert theirs.duplicate is False and int(theirs.message.seq) == 2


def test_concurrent_resends_of_one_client_msg_id_store_one_message():
    ana = user_create(language="es")
    bob = user_create(language="en")
    chat_id = direct_chat(bob, ana)
    stale_chat = selectors.chat_get(chat_id=chat_id)
    drafts = [draft(chat_id, bob, "Hello", client_msg_id="same") for _ in range(6)]

    results = race(6, lambda i: services.message_commit(draft=drafts[i], chat=stale_chat))

    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message.message_id for r in results}) == 1
    assert len(stored_messages(chat_id)) == 1
    assert int(selectors.chat_get(chat_id=chat_id).last_seq) == 1
    assert int(membership(ana, chat_id).unread_count) == 1


def test_a_draft_from_a_non_member_is_forbidden_and_stores_nothing():
    ana = user_create(language="es")
    bob = user_create(language="en")
    eve = user_create(language="fr")
    chat_id = direct_chat(bob, ana)

    with pytest.raises(Forbidden):
        commit(chat_id, eve, "let me in", client_msg_id="x1")

    assert stored_messages(chat_id) == []
    assert stored_client_markers(chat_id) == []
    assert int(selectors.chat_get(chat_id=chat_id).last_seq) == 0
    assert selectors.chat_membership_get(user_id=eve.user_id, chat_id=chat_id) is None
    assert int(membership(ana, chat_id).unread_count) == 0


# --- read marks and languages ----------------------------------------------------------------


def test_mark_read_only_moves_forward_and_recomputes_unread():
    ana = user_create(language="es")
    bob = user_create(language="en")
    eve = user_create(language="fr")
    chat_id = direct_chat(bob, ana)
    for i in range(5):
        commit(chat_id, bob, f"m{i}")
    assert int(membership(ana, chat_id).unread_count) == 5

    row = services.chat_mark_read(user=ana, chat_id=chat_id, seq=3)
    assert (int(row.last_read_seq), int(row.unread_count)) == (3, 2)
    stored = membership(ana, chat_id)
    assert (int(stored.last_read_seq), int(stored.unread_count)) == (3, 2)

    row = services.chat_mark_read(user=ana, chat_id=chat_id, seq=2)  # backwards: no change
    assert (int(row.last_read_seq), int(row.unread_count)) == (3, 2)
    row = services.chat_mark_read(user=ana, chat_id=chat_id, seq=3)  # same: no change
    assert (int(row.last_read_seq), int(row.unread_count)) == (3, 2)
    stored = membership(ana, chat_id)
    assert (int(stored.last_read_seq), int(stored.unread_count)) == (3, 2)

    row = services.chat_mark_read(user=ana, chat_id=chat_id, seq=1000)  # clamped to the last
    assert (int(row.last_read_seq), int(row.unread_count)) == (5, 0)

    commit(chat_id, bob, "m5")
    commit(chat_id, ana, "mine")  # your own message is never unread
    commit(chat_id, bob, "m7")
    commit(chat_id, bob, "m8")
    assert int(membership(ana, chat_id).unread_count) == 2
    # seq 6 m5, 7 mine (which marked everything up to 7 read), 8 m7, 9 m8
    assert int(membership(ana, chat_id).last_read_seq) == 7
    row = services.chat_mark_read(user=ana, chat_id=chat_id, seq=8)
    assert (int(row.last_read_seq), int(row.unread_count)) == (8, 1)
    assert int(membership(ana, chat_id).unread_count) == 1

    with pytest.raises(InvalidInput):
        services.chat_mark_read(user=ana, chat_id=chat_id, seq=0)
    with pytest.raises(NotFound, match="^Chat not found$"):
        services.chat_mark_read(user=eve, chat_id=chat_id, seq=1)
    with pytest.raises(NotFound):
        services.chat_mark_read(user=ana, chat_id="no-such-chat", seq=1)
    assert int(membership(ana, chat_id).last_read_seq) == 8


def test_a_message_committed_while_marking_read_stays_unread(monkeypatch):
    """chat_mark_read reads the inbox row, then writes the mark and the count. A message
    committed in between (which adds 1 to unread_count) must not be wiped out by the write."""
    ana = user_create(language="es")
    bob = user_create(language="en")
    chat_id = direct_chat(bob, ana)
    for i in range(3):
        commit(chat_id, bob, f"m{i}")
    original_get = services.chat_membership_get
    interleaved = []

    def row_then_a_new_message(**kwargs):
        row = original_get(**kwargs)
        if not interleaved:  # once: seq 4, committed after the row was read
            interleaved.append(commit(chat_id, bob, "arrives meanwhile"))
        return row

    monkeypatch.setattr(services, "chat_membership_get", row_then_a_new_message)

    services.chat_mark_read(user=ana, chat_id=chat_id, seq=3)

    assert interleaved
    row = membership(ana, chat_id)
    assert int(row.last_seq) == 4
    assert int(row.last_read_seq) == 3
    assert int(row.unread_count) == 1  # seq 4 from bob is after the read mark


def test_marking_read_in_a_long_chat_counts_unread_without_reading_messages(settings, monkeypatch):
    """The unread count after a read mark comes from the row's sequence numbers: marking a
    chat of many pages read reads no message at all."""
    settings.SOCKET_CATCH_UP_PAGE_MESSAGES = 4
    ana = user_create(language="es")
    bob = user_create(language="en")
    chat_id = direct_chat(bob, ana)
    for i in range(9):
        commit(chat_id, bob, f"m{i}")
    commit(chat_id, ana, "mine")  # seq 10: ana's own mark moves to 10
    for i in range(9, 14):
        commit(chat_id, bob, f"m{i}")  # seq 11..15
    assert int(membership(ana, chat_id).unread_count) == 5
    queries = []
    original_query = Message.query.__func__

    def counting_query(cls, *args, **kwargs):
        queries.append(args)
        return original_query(cls, *args, **kwargs)

    monkeypatch.setattr(Message, "query", classmethod(counting_query))

    row = services.chat_mark_read(user=ana, chat_id=chat_id, seq=12)
    assert (int(row.last_read_seq), int(row.unread_count)) == (12, 3)
    row = services.chat_mark_read(user=bob, chat_id=chat_id, seq=3)
    # Bob's own messages from seq 11 on reset his mark to 15: nothing moves.
    assert (int(row.last_read_seq), int(row.unread_count)) == (15, 0)
    row = services.chat_mark_read(user=ana, chat_id=chat_id, seq=15)
    assert (int(row.last_read_seq), int(row.unread_count)) == (15, 0)

    assert queries == []
    stored = membership(ana, chat_id)
    assert (int(stored.last_read_seq), int(stored.unread_count)) == (15, 0)


def test_languages_refresh_updates_every_chat_of_the_user():
    ana = user_create(language="es")
    bob = user_create(language="en")
    cal = user_create(language="de")
    direct_id = direct_chat(bob, ana)
    group_id = services.chat_group_create(
        user=bob, title="Team", usernames=[ana.username, cal.username]
    ).membership.chat_id
    left_id = services.chat_group_create(
        user=bob, title="Old", usernames=[ana.username, cal.username]
    ).membership.chat_id
    services.chat_leave(user=ana, chat_id=left_id)
    unrelated_id = direct_chat(bob, cal)

    ana = account_services.user_profile_update(user=ana, changes={"native_language": "fr"})
    changed = services.chat_languages_refresh(user=ana)

    assert changed == 2
    for chat_id in (direct_id, group_id):
        languages = selectors.map_as_dict(selectors.chat_get(chat_id=chat_id).member_languages)
        assert languages[ana.user_id] == "fr"
        assert languages[bob.user_id] == "en"
    assert (
        selectors.map_as_dict(selectors.chat_get(chat_id=group_id).member_languages)[cal.user_id]
        == "de"
    )
    assert ana.user_id not in selectors.map_as_dict(
        selectors.chat_get(chat_id=left_id).member_languages
    )
    assert selectors.map_as_dict(selectors.chat_get(chat_id=unrelated_id).member_languages) == {
        bob.user_id: "en",
        cal.user_id: "de",
    }

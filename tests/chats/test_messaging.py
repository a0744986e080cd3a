"""A send (apps/chats/actions.py do_send_message, sending.py, live_translation.py): what it
reads before it writes, and when readers are told of a message still being translated.

A send works from this process's copy of the chat (chat_snapshots.py) instead of reading it
first; these tests make that copy stale in every way another process could (a member added
or gone, a language changed, messages written) and check that nothing is lost or misplaced.
The claim on a client_msg_id in Redis only spares the DynamoDB lookup; DynamoDB decides.
"""

from __future__ import annotations

import asyncio

import pytest

from apps.chats import actions, late_translations, live_translation, sending, services
from apps.chats.chat_snapshots import chat_snapshots
from apps.chats.models import Chat, MessageKind
from apps.chats.owed_translations import owed_translation_get
from apps.chats.selectors import chat_get, map_as_dict, message_history
from apps.chats.translation import translation_max_bytes
from apps.core.background import background_tasks_named
from apps.core.concurrency import run_blocking
from apps.core.errors import Forbidden, RateLimited
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create
from tests.support.chat_clients import ChatSocket
from tests.support.clocks import FakeClock
from tests.support.fake_openai import target_language, user_text
from tests.support.loops import owed_translation_retries_cancel


def _of_type(frames, kind):
    return [frame for frame in frames if frame.get("type") == kind]


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _stored(chat_id):
    page = await run_blocking(message_history)(chat_id=chat_id, limit=200, before_seq=None)
    return sorted(page.messages, key=lambda message: int(message.seq))


async def _group(owner, *others, title="Team") -> str:
    created = await run_blocking(services.chat_group_create)(
        user=owner, title=title, usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def _amy_and_eva():
    """Amy (English) and Eva (Spanish) in a group with a third, English, member."""
    amy = await _user("en")
    eva = await _user("es")
    return amy, eva, await _group(amy, eva, await _user("en"))


def _commit_attempts_counted(monkeypatch) -> list[int]:
    """The sequence number each commit attempt tries, in order, from now on."""
    attempts: list[int] = []
    real_transaction = services._message_transaction

    def counting_transaction(**kwargs):
        attempts.append(int(kwargs["message"].seq))
        return real_transaction(**kwargs)

    monkeypatch.setattr(services, "_message_transaction", counting_transaction)
    return attempts


async def _copy_of(chat_id) -> Chat:
    return await run_blocking(chat_get)(chat_id=chat_id)


async def _read_in_the_end(socket: ChatSocket) -> dict:
    """The message as its reader ends up with it. One translated for an outdated list of
    languages is delivered at once, marked untranslated, and its translation follows as
    `message_updated` (the provider-failure path)."""
    frames = await socket.until(lambda f: f.get("type") == "message", timeout=10)
    message = frames[-1]["message"]
    if message["translated"] is False:
        frames = await socket.until(lambda f: f.get("type") == "message_updated", timeout=10)
        assert frames[-1]["message"]["message_id"] == message["message_id"]
        message = frames[-1]["message"]
    return message


# --- Reads on the send path -------------------------------------------------------------------


async def test_a_second_send_in_a_chat_reads_nothing_before_its_write(translator, monkeypatch):
    amy, eva, chat_id = await _amy_and_eva()
    reads = []
    real_chat_get = sending.chat_get

    def counting_chat_get(**kwargs):
        reads.append(kwargs["chat_id"])
        return real_chat_get(**kwargs)

    monkeypatch.setattr(sending, "chat_get", counting_chat_get)

    await actions.do_send_message(user=amy, chat_id=chat_id, text="one", client_msg_id="r-1")
    await actions.do_send_message(user=amy, chat_id=chat_id, text="two", client_msg_id="r-2")
    await actions.do_send_message(user=eva, chat_id=chat_id, text="tres", client_msg_id="r-3")

    assert reads == [chat_id]  # the first send only
    assert [int(message.seq) for message in await _stored(chat_id)] == [1, 2, 3]


async def test_sends_translated_at_the_same_time_commit_without_a_failed_attempt(
    translator, monkeypatch
):
    translator.delay_seconds = 0.3
    amy, eva, chat_id = await _amy_and_eva()
    await actions.do_send_message(user=amy, chat_id=chat_id, text="warm up")
    attempts = _commit_attempts_counted(monkeypatch)

    # Both start from a copy at last_seq 1; one commits while the other is still translating.
    first = asyncio.create_task(actions.do_send_message(user=amy, chat_id=chat_id, text="hello"))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(actions.do_send_message(user=eva, chat_id=chat_id, text="hola"))
    await asyncio.gather(first, second)

    assert attempts == [2, 3]


async def test_sends_translated_together_take_turns_to_commit(translator, monkeypatch):
    translator.delay_seconds = 0.2
    amy, eva, chat_id = await _amy_and_eva()
    await actions.do_send_message(user=amy, chat_id=chat_id, text="warm up")
    attempts = _commit_attempts_counted(monkeypatch)

    outcomes = await asyncio.gather(
        *(
            actions.do_send_message(user=user, chat_id=chat_id, text=f"at once {n}")
            for n, user in enumerate([amy, eva, amy, eva])
        )
    )

    assert sorted(outcome.message["seq"] for outcome in outcomes) == [2, 3, 4, 5]
    assert attempts == [2, 3, 4, 5]  # no attempt failed
    assert sending.commit_turns._locks == {}


async def test_a_copy_that_missed_messages_still_commits_gapless_and_in_order(translator):
    amy, eva, chat_id = await _amy_and_eva()
    stale = await _copy_of(chat_id)
    await actions.do_send_message(user=eva, chat_id=chat_id, text="uno")
    await actions.do_send_message(user=eva, chat_id=chat_id, text="dos")
    chat_snapshots.put(stale)  # as another process would hold it: last_seq 0

    outcome = await actions.do_send_message(user=amy, chat_id=chat_id, text="three")

    assert outcome.message["seq"] == 3
    assert [message.original_text for message in await _stored(chat_id)] == ["uno", "dos", "three"]
    assert int(chat_snapshots.get(chat_id).last_seq) == 3


async def test_a_member_added_elsewhere_gets_the_message_from_a_stale_copy_in_their_language(
    translator, sockets
):
    amy, eva, chat_id = await _amy_and_eva()
    stale = await _copy_of(chat_id)
    fio = await _user("fr")
    await run_blocking(services.chat_member_add)(user=amy, chat_id=chat_id, username=fio.username)
    chat_snapshots.put(stale)  # another process's copy, from before Fio joined
    fio_socket = await sockets.open(fio)

    outcome = await actions.do_send_message(user=amy, chat_id=chat_id, text="Welcome")

    message = await _read_in_the_end(fio_socket)
    assert message["message_id"] == outcome.message["message_id"]
    assert (message["text"], message["language"]) == ("[fr] Welcome", "fr")
    (stored,) = await _stored(chat_id)
    assert map_as_dict(stored.translations) == {"es": "[es] Welcome", "fr": "[fr] Welcome"}


async def test_a_language_changed_elsewhere_is_honoured_despite_a_stale_copy(translator, sockets):
    amy, eva, chat_id = await _amy_and_eva()
    stale = await _copy_of(chat_id)
    eva = await run_blocking(services_profile_language_set)(user=eva, language="ja")
    chat_snapshots.put(stale)  # still says Eva reads Spanish
    eva_socket = await sockets.open(eva)

    await actions.do_send_message(user=amy, chat_id=chat_id, text="Good night")

    received = await _read_in_the_end(eva_socket)
    assert (received["text"], received["language"]) == ("[ja] Good night", "ja")
    (stored,) = await _stored(chat_id)
    assert map_as_dict(stored.translations)["ja"] == "[ja] Good night"


def services_profile_language_set(*, user, language):
    from apps.accounts.services import user_profile_update

    updated = user_profile_update(user=user, changes={"native_language": language})
    services.chat_languages_refresh(user=updated)
    return updated


async def test_a_member_who_left_elsewhere_is_refused_despite_a_stale_copy(translator):
    amy, eva, chat_id = await _amy_and_eva()
    stale = await _copy_of(chat_id)
    await run_blocking(services.chat_leave)(user=eva, chat_id=chat_id)
    chat_snapshots.put(stale)  # still lists Eva

    with pytest.raises(Forbidden):
        await actions.do_send_message(user=eva, chat_id=chat_id, text="adiós")

    assert await _stored(chat_id) == []


async def test_a_member_added_after_the_copy_was_taken_can_send_at_once(translator):
    amy, eva, chat_id = await _amy_and_eva()
    stale = await _copy_of(chat_id)
    fio = await _user("fr")
    await run_blocking(services.chat_member_add)(user=amy, chat_id=chat_id, username=fio.username)
    chat_snapshots.put(stale)  # does not list Fio yet

    outcome = await actions.do_send_message(user=fio, chat_id=chat_id, text="Bonjour")

    assert outcome.message["seq"] == 1 and outcome.duplicate is False


# --- Client message ids -------------------------------------------------------------------------


async def test_a_claimed_client_msg_id_whose_send_failed_can_be_sent_again(translator, settings):
    settings.MESSAGE_RATE_LIMIT_COUNT = 1
    amy, eva, chat_id = await _amy_and_eva()
    await actions.do_send_message(user=amy, chat_id=chat_id, text="first")
    with pytest.raises(RateLimited):
        await actions.do_send_message(
            user=amy, chat_id=chat_id, text="second", client_msg_id="again"
        )
    settings.MESSAGE_RATE_LIMIT_COUNT = 100

    outcome = await actions.do_send_message(
        user=amy, chat_id=chat_id, text="second", client_msg_id="again"
    )

    assert outcome.duplicate is False and outcome.message["seq"] == 2


async def test_a_resend_after_its_claim_expired_is_still_no_duplicate_and_is_withdrawn(
    translator, sockets
):
    translator.token_delay_seconds = 0.06  # slow enough to be announced
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)
    first = await actions.do_send_message(
        user=amy, chat_id=chat_id, text="only once please", client_msg_id="x"
    )
    await eva_socket.until(lambda f: f.get("type") == "message", timeout=10)
    store = keyvalue_store()
    await store.take(f"client_msg:{chat_id}:{amy.user_id}:x")  # the claim has expired

    again = await actions.do_send_message(
        user=amy, chat_id=chat_id, text="only once please", client_msg_id="x"
    )

    assert again.duplicate is True and again.message["message_id"] == first.message["message_id"]
    frames = await eva_socket.until(lambda f: f.get("type") == "message_withdrawn", timeout=10)
    withdrawn = frames[-1]
    started = _of_type(frames, "message_started")
    assert [frame["message_id"] for frame in started] == [withdrawn["message_id"]]
    assert withdrawn["message_id"] != first.message["message_id"]
    assert withdrawn["chat_id"] == chat_id
    assert [int(message.seq) for message in await _stored(chat_id)] == [1]
    assert not _of_type(await eva_socket.drain(), "message")


# --- message_started ------------------------------------------------------------------------


async def test_a_quick_translation_reaches_readers_as_one_message_frame_only(
    translator, sockets, monkeypatch
):
    # "Quick" is anything under the announcement delay; 80 ms is less than a busy machine's
    # first translation can take, so this test's delay is long enough to stay quick.
    monkeypatch.setattr(live_translation, "PARTIAL_INTERVAL_SECONDS", 2.0)
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)

    await actions.do_send_message(user=amy, chat_id=chat_id, text="Quick one")

    frames = await eva_socket.until(lambda f: f.get("type") == "message", timeout=10)
    frames += await eva_socket.drain()
    assert [frame["type"] for frame in frames] == ["message"]
    assert frames[0]["message"]["text"] == "[es] Quick one"
    assert [target_language(body) for body in translator.received()] == ["es"]


async def test_a_slow_translation_is_announced_before_its_partials_and_message(translator, sockets):
    translator.delay_seconds = 0.3
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)

    send = asyncio.create_task(
        actions.do_send_message(user=amy, chat_id=chat_id, text="Take your time")
    )
    frames = await eva_socket.until(lambda f: f.get("type") == "message", timeout=10)
    await send

    kinds = [frame["type"] for frame in frames]
    assert kinds[0] == "message_started" and kinds[-1] == "message", kinds
    assert frames[0]["original_text"] == "Take your time"
    assert frames[0]["message_id"] == frames[-1]["message"]["message_id"]


async def test_a_send_that_fails_after_its_announcement_is_withdrawn(
    translator, sockets, monkeypatch
):
    translator.delay_seconds = 0.3
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)

    def commit_fails(**kwargs):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(services, "message_commit", commit_fails)
    with pytest.raises(RuntimeError):
        await actions.do_send_message(user=amy, chat_id=chat_id, text="lost cause")

    frames = await eva_socket.until(lambda f: f.get("type") == "message_withdrawn", timeout=10)
    started = _of_type(frames, "message_started")
    assert len(started) == 1 and started[0]["message_id"] == frames[-1]["message_id"]
    assert not _of_type(frames, "message")


async def test_same_language_members_get_no_announcement(translator, sockets):
    amy = await _user("en")
    ben = await _user("en")
    chat_id = await _group(amy, ben, await _user("en"))
    ben_socket = await sockets.open(ben)
    translator.delay_seconds = 0.3  # would be announced if anything were translated

    await actions.do_send_message(user=amy, chat_id=chat_id, text="Same language")

    frames = await ben_socket.until(lambda f: f.get("type") == "message", timeout=10)
    assert [frame["type"] for frame in frames] == ["message"]
    assert translator.received() == []


# --- Partial translations ----------------------------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, text: str) -> None:
        self.sent.append(text)


def _no_announcement():
    async def nothing() -> None:
        return None

    return live_translation.Announcement(nothing, delay=None)


async def test_partials_that_arrive_together_go_out_as_one():
    clock = FakeClock()
    recorder = _Recorder()
    partials = live_translation.PartialSender(
        send=recorder.send, announcement=_no_announcement(), interval=0.05, clock=clock
    )
    await clock.advance(0.06)  # the first interval has passed: a partial may go out now

    for words in range(1, 11):  # ten values read in one go, as from a busy server's buffer
        partials.offer(" ".join(["word"] * words))
    await clock.advance(0.02)

    assert recorder.sent == [" ".join(["word"] * 10)]
    partials.offer("later value")
    await clock.advance(0.01)
    assert len(recorder.sent) == 1  # not before the interval since the last one
    await clock.advance(0.06)
    assert recorder.sent[-1] == "later value"
    await partials.close()


async def test_closing_the_partials_does_not_wait_out_the_interval():
    recorder = _Recorder()
    partials = live_translation.PartialSender(
        send=recorder.send, announcement=_no_announcement(), interval=5.0, clock=FakeClock()
    )
    partials.offer("almost done")

    started = asyncio.get_running_loop().time()
    await partials.close()

    assert asyncio.get_running_loop().time() - started < 0.5
    assert recorder.sent == []  # the finished message carries the translation instead


# --- Translation replies that are no translation --------------------------------------------------


@pytest.fixture
async def owed_retries():
    """The owed-translation retries this test starts; any still waiting at its end are ended."""
    yield lambda: background_tasks_named(name=sending.FOLLOW_UP_TASK)
    await owed_translation_retries_cancel()


def _requests_for_text(translator, text):
    return [body for body in translator.received() if user_text(body) == text]


async def test_a_runaway_translation_is_delivered_untranslated_and_no_partial_passes_the_bound(
    translator, sockets, owed_retries
):
    translator.honour_max_tokens = False
    translator.translator = lambda text, target: "la " * 33_334  # 100,000 characters
    translator.token_delay_seconds = 0.01  # slow enough for partials to go out
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)
    text = "Hello there"  # 11 characters
    bound = translation_max_bytes(text=text)

    outcome = await actions.do_send_message(user=amy, chat_id=chat_id, text=text)

    frames = await eva_socket.until(lambda f: f.get("type") == "message", timeout=10)
    partials = _of_type(frames, "translation_partial")
    assert partials, "the reply streamed long enough for partials to go out"
    assert max(len(frame["text"].encode()) for frame in partials) <= bound
    delivered = frames[-1]["message"]
    assert delivered["message_id"] == outcome.message["message_id"]
    assert (delivered["text"], delivered["language"], delivered["translated"]) == (
        text,
        "en",
        False,
    )
    (stored,) = await _stored(chat_id)
    assert map_as_dict(stored.translations) == {}
    assert stored.pending_languages == {"es"}


async def test_a_500_kb_reply_neither_fails_the_send_nor_loses_the_message(
    translator, sockets, owed_retries
):
    translator.honour_max_tokens = False
    translator.tokens_per_chunk = 10**9  # all of it at once
    translator.translator = lambda text, target: "x" * 500_000
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)

    outcome = await actions.do_send_message(user=amy, chat_id=chat_id, text="Short one")

    assert outcome.duplicate is False and outcome.message["seq"] == 1
    delivered = (await eva_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert delivered["message"]["message_id"] == outcome.message["message_id"]
    assert (delivered["message"]["text"], delivered["message"]["translated"]) == (
        "Short one",
        False,
    )
    (stored,) = await _stored(chat_id)
    assert stored.original_text == "Short one" and map_as_dict(stored.translations) == {}


async def test_an_owed_translation_always_refused_gives_up_after_the_bounded_attempts(
    translator, settings, owed_retries
):
    settings.TRANSLATION_RETRY_SCALE = 0.002  # the ~15 minute schedule in about 2 seconds
    translator.honour_max_tokens = False
    translator.tokens_per_chunk = 10**9
    translator.translator = lambda text, target: "x" * 100_000
    amy, eva, chat_id = await _amy_and_eva()

    await actions.do_send_message(user=amy, chat_id=chat_id, text="Never translated")
    (retry,) = owed_retries()
    await asyncio.wait_for(retry, timeout=30)

    attempts = len(_requests_for_text(translator, "Never translated"))
    assert attempts == late_translations.OWED_TRANSLATION_MAX_ATTEMPTS == 12
    # Readers find the attempts used up: nobody asks again (until the day's count expires).
    (stored,) = await _stored(chat_id)
    await actions.do_translate_messages(messages=[stored], language="es")
    await asyncio.sleep(0.1)
    assert len(_requests_for_text(translator, "Never translated")) == attempts
    (stored,) = await _stored(chat_id)
    assert map_as_dict(stored.translations) == {} and stored.pending_languages == {"es"}


# --- Turns at an owed translation ---------------------------------------------------------------


async def test_one_turn_per_back_off_period_then_none_once_the_attempts_are_used_up(settings):
    take = late_translations.translation_turn_take
    message_id = "m" * 32
    settings.TRANSLATION_RETRY_SCALE = 10.0  # the first back-off lasts 10 seconds

    assert await take(message_id=message_id, language="es") is True
    assert await take(message_id=message_id, language="es") is False
    # Another instance (its own event loop and Redis connection) is refused too.
    assert await asyncio.to_thread(asyncio.run, take(message_id=message_id, language="es")) is False
    assert await take(message_id=message_id, language="fr") is True  # each language its own

    settings.TRANSLATION_RETRY_SCALE = 0.001  # back-offs of 1 ms ... 300 ms
    loop = asyncio.get_running_loop()
    granted = 0
    deadline = loop.time() + 10
    while granted < late_translations.OWED_TRANSLATION_MAX_ATTEMPTS and loop.time() < deadline:
        granted += await take(message_id=message_id, language="ko")
        await asyncio.sleep(0.002)
    assert granted == late_translations.OWED_TRANSLATION_MAX_ATTEMPTS
    await asyncio.sleep(0.4)  # longer than the last back-off
    assert await take(message_id=message_id, language="ko") is False


async def test_translations_past_the_message_budget_are_owed_not_stored(
    translator, settings, sockets, owed_retries, monkeypatch
):
    # Bounds raised past what the message can hold (as DynamoDB's 400 KB item limit is, here
    # scaled down so the test moves little data).
    monkeypatch.setattr(sending, "MESSAGE_TRANSLATIONS_MAX_BYTES", 3000)
    settings.TRANSLATION_REPLY_MAX_FLOOR_BYTES = 1_000_000
    settings.TRANSLATION_RETRY_SCALE = 0.002
    translator.honour_max_tokens = False
    translator.translator = lambda text, target: f"[{target}] " + "x" * 2000
    amy, eva, chat_id = await _amy_and_eva()
    fio = await _user("fr")
    await run_blocking(services.chat_member_add)(user=amy, chat_id=chat_id, username=fio.username)
    eva_socket = await sockets.open(eva)

    outcome = await actions.do_send_message(user=amy, chat_id=chat_id, text="Too big for both")

    # One translation fits, the other is owed; the message is stored and delivered.
    (stored,) = await _stored(chat_id)
    (kept,) = map_as_dict(stored.translations)
    assert stored.pending_languages == {"es", "fr"} - {kept}
    delivered = (await eva_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert delivered["message"]["message_id"] == outcome.message["message_id"]
    assert delivered["message"]["translated"] is (kept == "es")
    # The retries' translations do not fit either: never stored, and the retries give up.
    (retry,) = owed_retries()
    await asyncio.wait_for(retry, timeout=60)
    assert retry.exception() is None
    (stored,) = await _stored(chat_id)
    assert list(map_as_dict(stored.translations)) == [kept]
    owed = ({"es", "fr"} - {kept}).pop()
    asked = [body for body in translator.received() if target_language(body) == owed]
    assert len(asked) == late_translations.OWED_TRANSLATION_MAX_ATTEMPTS


# --- The language actually written -----------------------------------------------------------

ENGLISH_TEXT = "See you at the station tomorrow morning, I will bring the tickets"


async def test_a_spanish_speakers_english_text_to_an_english_reader_needs_no_provider_request(
    translator, sockets
):
    eva = await _user("es")
    amy = await _user("en")
    chat_id = await _group(eva, amy, await _user("en"))
    amy_socket = await sockets.open(amy)

    outcome = await actions.do_send_message(user=eva, chat_id=chat_id, text=ENGLISH_TEXT)

    (stored,) = await _stored(chat_id)
    assert stored.original_language == "en"
    assert map_as_dict(stored.translations) == {}
    assert stored.pending_languages in (None, set())
    delivered = (await amy_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert delivered["message"]["text"] == ENGLISH_TEXT
    assert delivered["message"]["translated"] is True
    # Its sender reads what she wrote, as written, and owes herself nothing.
    assert outcome.message["text"] == ENGLISH_TEXT
    assert outcome.message["translated"] is True
    assert background_tasks_named(name=sending.FOLLOW_UP_TASK) == []
    assert await run_blocking(owed_translation_get)(chat_id=chat_id, seq=1) is None
    await actions.do_read_history(user=eva, chat_id=chat_id, limit=50, before_seq=None)
    await actions.do_read_history(user=amy, chat_id=chat_id, limit=50, before_seq=None)
    assert translator.received() == []


async def test_a_spanish_reader_gets_a_translation_from_the_language_detected(translator):
    eva = await _user("es")
    amy = await _user("en")
    pia = await _user("es")
    chat_id = await _group(eva, amy, pia)

    await actions.do_send_message(user=eva, chat_id=chat_id, text=ENGLISH_TEXT)

    (request,) = translator.received()
    assert target_language(request) == "es"
    assert "(en)" in request["messages"][0]["content"].split(" to ")[0]
    assert user_text(request) == ENGLISH_TEXT
    (stored,) = await _stored(chat_id)
    assert stored.original_language == "en"
    assert map_as_dict(stored.translations) == {"es": f"[es] {ENGLISH_TEXT}"}


async def test_a_voice_note_keeps_the_language_it_was_transcribed_in(translator):
    eva = await _user("es")
    amy = await _user("en")
    chat_id = await _group(eva, amy, await _user("en"))

    await actions.do_send_message(
        user=eva, chat_id=chat_id, text=ENGLISH_TEXT, kind=MessageKind.VOICE_NOTE
    )

    (stored,) = await _stored(chat_id)
    assert stored.original_language == "es"
    assert [target_language(body) for body in translator.received()] == ["en"]


async def test_a_detection_short_of_the_overrule_confidence_keeps_the_senders_language(
    translator,
):
    amy, eva, chat_id = await _amy_and_eva()

    # py3langid reads "Hello all" as Spanish, at 0.72.
    await actions.do_send_message(user=amy, chat_id=chat_id, text="Hello all")

    (stored,) = await _stored(chat_id)
    assert stored.original_language == "en"
    assert map_as_dict(stored.translations) == {"es": "[es] Hello all"}


# --- Nothing to translate --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["👍🎉", "https://example.com/menu", "@nico 15:30 !!", "`x = 1`"])
async def test_a_message_with_nothing_to_translate_is_delivered_as_written_with_no_request(
    translator, sockets, text
):
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)

    await actions.do_send_message(user=amy, chat_id=chat_id, text=text)

    delivered = (await eva_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert delivered["message"]["text"] == text
    # Not a failure: translated, and said to need nothing.
    assert delivered["message"]["translated"] is True
    assert delivered["message"]["translation_skipped"] == "nothing_to_translate"
    (stored,) = await _stored(chat_id)
    assert map_as_dict(stored.translations) == {}
    assert stored.pending_languages in (None, set())
    assert background_tasks_named(name=sending.FOLLOW_UP_TASK) == []
    assert await run_blocking(owed_translation_get)(chat_id=chat_id, seq=1) is None
    # A reader of a language the chat did not have yet owes nothing either.
    fio = await _user("fr")
    await run_blocking(services.chat_member_add)(user=amy, chat_id=chat_id, username=fio.username)
    page = await actions.do_read_history(user=fio, chat_id=chat_id, limit=50, before_seq=None)
    assert [m.original_text for m in page.messages] == [text]
    assert translator.received() == []


async def test_a_message_with_words_says_nothing_of_skipping(translator, sockets):
    amy, eva, chat_id = await _amy_and_eva()
    eva_socket = await sockets.open(eva)

    await actions.do_send_message(user=amy, chat_id=chat_id, text="lunch at 12 👍")

    delivered = (await eva_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert delivered["message"]["text"] == "[es] lunch at 12 👍"
    assert "translation_skipped" not in delivered["message"]

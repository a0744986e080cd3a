"""Owed translations are stored with their messages and worked off by whichever process is
alive (apps/chats/owed_translations.py, apps/chats/owed_sweeper.py).

A process dying is played by cancelling its in-memory follow-ups
(tests/support/loops.py); tests/e2e/test_owed_translations.py kills a real Daphne instead.
Several sweepers are several event loops in threads of their own, each with its own Redis
and provider connections, as instances would have; the provider is the loopback fake, whose
requests are counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import threading
import time

import pytest

from apps.chats import actions, late_translations, owed_sweeper, sending, services
from apps.chats.models import OwedTranslation
from apps.chats.owed_sweeper import OwedTranslationSweeper
from apps.chats.owed_translations import (
    OWED_TRANSLATION_MAX_ATTEMPTS,
    owed_retry_delay,
    owed_translation_claim,
    owed_translation_get,
    owed_translation_key,
    owed_translation_reschedule,
    owed_translation_settle,
)
from apps.chats.selectors import map_as_dict, message_get
from apps.chats.translation import translation_clients_close
from apps.core.background import background_tasks_named
from apps.core.concurrency import run_blocking
from apps.core.dynamo import dynamo_configure, dynamo_target_from_settings
from apps.core.keyvalue import keyvalue_store
from tests.support.accounts import user_create
from tests.support.fake_openai import target_language, user_text
from tests.support.loops import owed_translation_retries_cancel
from tests.support.servers import free_port


@pytest.fixture(autouse=True)
async def _instances_end():
    """Whatever a test leaves running in this loop ends with it."""
    yield
    await owed_translation_retries_cancel()
    await owed_sweeper.owed_translation_sweeper_stop()


async def _user(language="en"):
    return await run_blocking(user_create)(language=language)


async def _group(owner, *others) -> str:
    created = await run_blocking(services.chat_group_create)(
        user=owner, title="Team", usernames=[other.username for other in others]
    )
    return created.membership.chat_id


async def _amy_eva_and_fio():
    """Amy (English) writes to Eva (Spanish) and Fio (French)."""
    amy, eva, fio = await _user("en"), await _user("es"), await _user("fr")
    return amy, eva, fio, await _group(amy, eva, fio)


async def _sent_while_the_provider_fails(translator, user, chat_id, text) -> int:
    """Send `text` while the provider answers 500, then play the sending process dying: its
    in-memory follow-up ends before any retry. Returns the message's seq."""
    translator.fail_status = 500
    outcome = await actions.do_send_message(user=user, chat_id=chat_id, text=text)
    await owed_translation_retries_cancel()
    return int(outcome.message["seq"])


def _asked(translator, text) -> list[str]:
    """The target language of every request for `text` so far, sorted: a message's languages
    are asked for at once, so they reach the translator in any order."""
    return sorted(
        target_language(body) for body in translator.received() if user_text(body) == text
    )


async def _record(chat_id, seq) -> OwedTranslation | None:
    return await run_blocking(owed_translation_get)(chat_id=chat_id, seq=seq)


async def _sweep_until_settled(sweeper, chat_id, seqs, *, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        await sweeper.sweep()
        if all([await _record(chat_id, seq) is None for seq in seqs]):
            return
        assert time.monotonic() < deadline, "owed translations still recorded"
        await asyncio.sleep(0.02)


def _sweep_in_a_loop_of_its_own(start: threading.Barrier) -> int:
    """One sweep by a sweeper of another "instance": its own event loop, hence its own Redis
    and provider connections."""

    async def sweep() -> int:
        try:
            start.wait(timeout=10)
            return await OwedTranslationSweeper(interval_seconds=1).sweep()
        finally:
            await translation_clients_close()

    return asyncio.run(sweep())


# --- The record ------------------------------------------------------------------------------


async def test_a_message_stored_lacking_languages_is_stored_with_what_it_owes(translator):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    before = time.time()

    seq = await _sent_while_the_provider_fails(translator, amy, chat_id, "Owed twice")

    record = await _record(chat_id, seq)
    assert record is not None
    assert (record.chat_id, int(record.seq), record.languages) == (chat_id, seq, {"es", "fr"})
    assert int(record.attempts) == 1 and record.claim is None  # the send's own attempt
    due = int(record.due_at) / 1000
    assert before + owed_retry_delay(1) - 0.01 <= due <= time.time() + owed_retry_delay(1)
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    assert (record.shard, record.message_key) == (shard, f"{chat_id}#{seq:012d}")

    # A message translated into every member language owes nothing.
    translator.fail_status = None
    translated = await actions.do_send_message(user=amy, chat_id=chat_id, text="All there")
    assert await _record(chat_id, int(translated.message["seq"])) is None


# --- Picked up by whichever process is alive -------------------------------------------------


async def test_owed_translations_of_a_process_that_died_are_made_by_another(translator, sockets):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    eva_socket = await sockets.open(eva)
    seq = await _sent_while_the_provider_fails(translator, amy, chat_id, "See you at noon")
    delivered = (await eva_socket.until(lambda f: f.get("type") == "message", timeout=10))[-1]
    assert (delivered["message"]["text"], delivered["message"]["translated"]) == (
        "See you at noon",
        False,
    )
    # Nothing in this process will ask again: the message owes both translations for good...
    await asyncio.sleep(owed_retry_delay(2) * 4)
    assert _asked(translator, "See you at noon") == ["es", "fr"]  # the send's attempts

    # ...until the provider is back and another process's sweeper finds the record.
    translator.fail_status = None
    await _sweep_until_settled(OwedTranslationSweeper(interval_seconds=1), chat_id, [seq])

    updated = (await eva_socket.until(lambda f: f.get("type") == "message_updated", timeout=10))[-1]
    assert updated["message"]["seq"] == seq
    assert (updated["message"]["text"], updated["message"]["translated"]) == (
        "[es] See you at noon",
        True,
    )
    stored = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    assert map_as_dict(stored.translations) == {
        "es": "[es] See you at noon",
        "fr": "[fr] See you at noon",
    }
    assert not stored.pending_languages
    assert _asked(translator, "See you at noon") == ["es", "es", "fr", "fr"]


async def test_two_sweepers_at_once_ask_the_provider_once_per_owed_translation(translator):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    texts = [f"Owed message {n}" for n in range(6)]
    seqs = [await _sent_while_the_provider_fails(translator, amy, chat_id, text) for text in texts]
    translator.fail_status = None
    translator.delay_seconds = 0.2  # both sweepers are at work at the same time
    await asyncio.sleep(owed_retry_delay(1) + 0.05)  # every record is due

    start = threading.Barrier(2)
    claimed = await asyncio.gather(
        asyncio.to_thread(_sweep_in_a_loop_of_its_own, start),
        asyncio.to_thread(_sweep_in_a_loop_of_its_own, start),
    )

    assert sum(claimed) == len(texts)  # each record claimed once, by one of the two
    for text, seq in zip(texts, seqs, strict=True):
        # The send's attempt per language, then exactly one more.
        assert _asked(translator, text) == ["es", "es", "fr", "fr"], text
        assert await _record(chat_id, seq) is None
        stored = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
        assert set(map_as_dict(stored.translations)) == {"es", "fr"}


async def test_attempts_are_bounded_across_sweepers_and_a_lost_key_value_store(
    translator, settings
):
    settings.TRANSLATION_RETRY_SCALE = 0.002  # the ~15 minute schedule in about 2 seconds
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    text = "Never translated"
    seq = await _sent_while_the_provider_fails(translator, amy, chat_id, text)

    # One instance makes a few attempts, then stops; the key-value store forgets its turns
    # and counts (a Redis restart without persistence).
    first = OwedTranslationSweeper(interval_seconds=1)
    deadline = time.monotonic() + 20
    while len(_asked(translator, text)) < 2 * 5:
        assert time.monotonic() < deadline, "the first sweeper made no attempts"
        await first.sweep()
        await asyncio.sleep(0.01)
    store = keyvalue_store()
    message_id = (await run_blocking(message_get)(chat_id=chat_id, seq=seq)).message_id
    for language in ("es", "fr"):
        await store.take(f"translation_turn:{message_id}:{language}")
        await store.take(f"translation_attempts:{message_id}:{language}")
    # Another instance carries on until the stored record's attempts are used up.
    await _sweep_until_settled(OwedTranslationSweeper(interval_seconds=1), chat_id, [seq])

    asked = _asked(translator, text)
    assert (
        sorted(asked)
        == ["es"] * OWED_TRANSLATION_MAX_ATTEMPTS + ["fr"] * OWED_TRANSLATION_MAX_ATTEMPTS
    )
    stored = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    assert map_as_dict(stored.translations) == {} and stored.pending_languages == {"es", "fr"}
    # Given up: no sweep asks again.
    await asyncio.sleep(0.1)
    await OwedTranslationSweeper(interval_seconds=1).sweep()
    assert len(_asked(translator, text)) == len(asked)


async def test_a_translation_a_reader_got_first_is_not_asked_for_again(translator):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    seq = await _sent_while_the_provider_fails(translator, amy, chat_id, "Read it first")
    translator.fail_status = None
    await asyncio.sleep(owed_retry_delay(1) + 0.05)
    message = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    # Eva reads the history: the on-demand path stores her translation.
    await actions.do_translate_messages(messages=[message], language="es")
    assert _asked(translator, "Read it first").count("es") == 2

    await _sweep_until_settled(OwedTranslationSweeper(interval_seconds=1), chat_id, [seq])

    assert _asked(translator, "Read it first") == ["es", "es", "fr", "fr"]


async def test_a_translation_stored_by_an_attempt_that_died_before_telling_is_announced(
    translator, sockets
):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    eva_socket = await sockets.open(eva)
    seq = await _sent_while_the_provider_fails(translator, amy, chat_id, "Told late")
    translator.fail_status = None
    # An attempt stored Eva's translation, and its process died before the broadcast.
    await run_blocking(services.message_translations_add)(
        chat_id=chat_id, seq=seq, translations={"es": "[es] Told late"}
    )

    await _sweep_until_settled(OwedTranslationSweeper(interval_seconds=1), chat_id, [seq])

    updated = (await eva_socket.until(lambda f: f.get("type") == "message_updated", timeout=10))[-1]
    assert (updated["message"]["seq"], updated["message"]["text"]) == (seq, "[es] Told late")
    assert _asked(translator, "Told late") == ["es", "fr", "fr"]


# --- The sending process's own follow-up ------------------------------------------------------


async def test_the_sending_process_makes_the_attempts_due_sooner_than_a_sweep_then_hands_over(
    translator, settings
):
    # Waits of 0.05 and 0.1 s are shorter than a sweep interval; the next, 0.2 s, is not.
    settings.OWED_TRANSLATION_SWEEP_SECONDS = 0.15
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    translator.fail_status = 500

    outcome = await actions.do_send_message(user=amy, chat_id=chat_id, text="Follow me")
    (follow_up,) = background_tasks_named(name=sending.FOLLOW_UP_TASK)
    await asyncio.wait_for(follow_up, timeout=10)

    assert _asked(translator, "Follow me") == ["es"] * 3 + ["fr"] * 3
    record = await _record(chat_id, int(outcome.message["seq"]))
    assert int(record.attempts) == 3 and record.claim is None  # left for the sweepers


async def test_a_process_follows_a_bounded_number_of_messages_itself(translator, monkeypatch):
    monkeypatch.setattr(late_translations, "LOCAL_FOLLOW_UPS_MAX", 1)
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    translator.fail_status = 500

    await actions.do_send_message(user=amy, chat_id=chat_id, text="Followed")
    (followed,) = background_tasks_named(name=sending.FOLLOW_UP_TASK)
    second = await actions.do_send_message(user=amy, chat_id=chat_id, text="Left to the sweepers")
    (left,) = [
        task for task in background_tasks_named(name=sending.FOLLOW_UP_TASK) if task is not followed
    ]
    await asyncio.wait_for(left, timeout=5)

    assert not followed.done()
    await asyncio.sleep(owed_retry_delay(2) * 3)
    assert _asked(translator, "Left to the sweepers") == ["es", "fr"]  # the send's only
    assert len(_asked(translator, "Followed")) > 2
    assert await _record(chat_id, int(second.message["seq"])) is not None


# --- Claims --------------------------------------------------------------------------------


async def _due_record(translator, chat_id, amy) -> tuple[str, str, int]:
    seq = await _sent_while_the_provider_fails(translator, amy, chat_id, "Claimed")
    await asyncio.sleep(owed_retry_delay(1) + 0.05)
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)
    return shard, message_key, seq


async def test_a_due_record_is_claimed_by_one_of_many_at_once_and_counts_one_attempt(translator):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    shard, message_key, seq = await _due_record(translator, chat_id, amy)

    claims = await asyncio.gather(
        *(
            run_blocking(owed_translation_claim)(shard=shard, message_key=message_key)
            for _ in range(8)
        )
    )

    winners = [claim for claim in claims if claim is not None]
    assert len(winners) == 1
    record = await _record(chat_id, seq)
    assert int(record.attempts) == 2 and record.claim == winners[0].claim
    # Held for the lease: nobody else can claim it meanwhile.
    assert await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key) is None


async def test_a_record_is_not_claimed_before_it_is_due(translator, settings):
    settings.TRANSLATION_RETRY_SCALE = 10.0  # the first wait is 10 s
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    seq = await _sent_while_the_provider_fails(translator, amy, chat_id, "Not yet")
    shard, message_key = owed_translation_key(chat_id=chat_id, seq=seq)

    assert await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key) is None
    translator.fail_status = None
    assert await OwedTranslationSweeper(interval_seconds=1).sweep() == 0
    assert _asked(translator, "Not yet") == ["es", "fr"]
    assert int((await _record(chat_id, seq)).attempts) == 1


async def test_a_claim_whose_lease_ran_out_is_taken_over_and_its_holder_changes_nothing(
    translator, settings
):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    shard, message_key, seq = await _due_record(translator, chat_id, amy)
    settings.TRANSLATION_TIMEOUT_SECONDS = 0.1  # a lease of 0.3 s
    stalled = await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key)
    assert stalled is not None

    await asyncio.sleep(0.4)
    successor = await run_blocking(owed_translation_claim)(shard=shard, message_key=message_key)

    assert successor is not None and int(successor.attempts) == 3
    # The first holder wakes up late: neither its reschedule nor its delete takes effect.
    assert not await run_blocking(owed_translation_reschedule)(
        record=stalled, due=time.time(), attempt_back=True
    )
    assert not await run_blocking(owed_translation_settle)(record=stalled)
    record = await _record(chat_id, seq)
    assert record.claim == successor.claim and int(record.attempts) == 3
    assert await run_blocking(owed_translation_settle)(record=successor)
    assert await _record(chat_id, seq) is None


# --- Outages during a sweep ------------------------------------------------------------------


async def test_a_sweep_while_redis_is_paused_counts_no_attempt_and_a_later_one_succeeds(
    translator, own_redis, caplog
):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    shard, message_key, seq = await _due_record(translator, chat_id, amy)
    translator.fail_status = None
    sweeper = OwedTranslationSweeper(interval_seconds=1)

    os.kill(own_redis.process.pid, signal.SIGSTOP)
    with caplog.at_level(logging.WARNING, logger="apps.chats.late_translations"):
        assert await sweeper.sweep() == 1  # claimed, and let go when Redis did not answer
    os.kill(own_redis.process.pid, signal.SIGCONT)

    assert _asked(translator, "Claimed") == ["es", "fr"]  # nobody was asked
    record = await _record(chat_id, seq)
    assert int(record.attempts) == 1 and record.claim is None  # the attempt was given back
    assert any("was cut short (TimeoutError)" in record.getMessage() for record in caplog.records)
    await _sweep_until_settled(sweeper, chat_id, [seq])
    stored = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    assert set(map_as_dict(stored.translations)) == {"es", "fr"}


async def test_the_sweeper_outlives_dynamodb_being_unreachable(translator, settings, caplog):
    amy, eva, fio, chat_id = await _amy_eva_and_fio()
    shard, message_key, seq = await _due_record(translator, chat_id, amy)
    translator.fail_status = None
    target = dynamo_target_from_settings()
    settings.OWED_TRANSLATION_SWEEP_SECONDS = 0.05

    dynamo_configure(dataclasses.replace(target, host=f"http://127.0.0.1:{free_port()}"))
    with caplog.at_level(logging.WARNING, logger="apps.chats.owed_sweeper"):
        owed_sweeper.owed_translation_sweeper_ensure()
        deadline = time.monotonic() + 20
        while not any(
            "sweep for owed translations failed" in r.getMessage() for r in caplog.records
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    (task,) = [
        task for loop, task in owed_sweeper._sweepers.items() if loop is asyncio.get_running_loop()
    ]
    assert not task.done()
    assert _asked(translator, "Claimed") == ["es", "fr"]

    dynamo_configure(target)
    deadline = time.monotonic() + 20
    while await _record(chat_id, seq) is not None:
        assert time.monotonic() < deadline, "the sweeper did not carry on once DynamoDB was back"
        await asyncio.sleep(0.05)
    stored = await run_blocking(message_get)(chat_id=chat_id, seq=seq)
    assert set(map_as_dict(stored.translations)) == {"es", "fr"}


# --- Which processes sweep -------------------------------------------------------------------


async def test_the_first_socket_starts_one_sweeper_per_process_when_sweeping_is_on(
    translator, settings, sockets
):
    amy = await _user("en")
    loop = asyncio.get_running_loop()
    await sockets.open(amy)
    assert loop not in owed_sweeper._sweepers  # off (the tests' default)

    settings.OWED_TRANSLATION_SWEEP_SECONDS = 0.05
    await sockets.open(amy)
    await sockets.open(amy)

    task = owed_sweeper._sweepers[loop]
    assert not task.done()
    assert [t for t in asyncio.all_tasks() if t.get_name() == "owed-translation-sweeper"] == [task]

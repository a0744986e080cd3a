"""Account services against the real (moto) DynamoDB: hashing, uniqueness under concurrency,
normalisation, and credential checks."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.hashers import check_password
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError
from pynamodb.transactions import TransactWrite

from apps.accounts import actions, services
from apps.accounts.models import User, UsernameClaim
from apps.accounts.selectors import user_get, user_get_by_username
from apps.core.errors import Conflict, InvalidInput, ServiceError, Unauthorized

PASSWORD = "correct horse battery staple"
INVALID_CREDENTIALS = "Invalid username or password"


def signup(**overrides):
    fields = {
        "username": "alice",
        "password": PASSWORD,
        "first_name": "Alice",
        "last_name": "Liddell",
        "native_language": "en",
    }
    fields.update(overrides)
    return async_to_sync(actions.do_signup)(**fields)


def stored_users():
    return list(User.scan(User.pk.startswith("USER#"), consistent_read=True))


def stored_claims():
    return list(UsernameClaim.scan(UsernameClaim.pk.startswith("USERNAME#"), consistent_read=True))


def test_signup_stores_an_argon2id_hash_never_the_password():
    user = signup()

    stored = User.get(User.key_for(user.user_id), consistent_read=True)
    assert stored.password_hash.startswith("argon2$argon2id$")
    assert stored.password_hash != PASSWORD
    assert PASSWORD not in stored.password_hash
    assert check_password(PASSWORD, stored.password_hash)
    assert not check_password("not the password", stored.password_hash)
    assert user.password_hash == stored.password_hash


def test_signup_stores_the_user_and_its_username_claim():
    user = signup(username="Alice")

    assert user.pk == f"USER#{user.user_id}"
    stored = user_get(user_id=user.user_id)
    assert stored is not None
    assert stored.username == "alice"  # new usernames are stored lower-case
    assert stored.is_active is True
    assert stored.token_version == 0
    assert stored.created_at.utcoffset().total_seconds() == 0
    claim = UsernameClaim.get("USERNAME#alice", consistent_read=True)
    assert claim.user_id == user.user_id
    assert user_get_by_username(username="ALICE").user_id == user.user_id


def test_signup_strips_whitespace_around_names():
    user = signup(first_name="  Ada \t", last_name="\n Lovelace  ")

    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    stored = user_get(user_id=user.user_id)
    assert (stored.first_name, stored.last_name) == ("Ada", "Lovelace")


def test_signup_counts_name_length_after_stripping():
    user = signup(first_name="  " + "F" * 100 + "  ", last_name=" L ")
    assert user.first_name == "F" * 100
    assert user.last_name == "L"

    with pytest.raises(InvalidInput, match="first_name"):
        signup(username="bob", first_name=" " * 5)


def test_concurrent_signups_for_one_username_let_exactly_one_through():
    attempts = 8
    barrier = threading.Barrier(attempts)

    def attempt(index):
        barrier.wait()
        try:
            return signup(first_name=f"Attempt {index}")
        except Conflict as error:
            return error

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))

    winners = [outcome for outcome in outcomes if isinstance(outcome, User)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert len(winners) == 1, outcomes
    assert len(losers) == attempts - 1, outcomes
    assert all(loser.detail == "Username already taken" for loser in losers)

    users = stored_users()
    claims = stored_claims()
    assert len(users) == 1
    assert len(claims) == 1
    assert users[0].user_id == winners[0].user_id
    assert users[0].first_name == winners[0].first_name
    assert claims[0].pk == "USERNAME#alice"
    assert claims[0].user_id == winners[0].user_id


def test_concurrent_signups_differing_only_in_case_let_exactly_one_through():
    spellings = ["Race", "race", "RACE", "rAcE"]
    barrier = threading.Barrier(len(spellings))

    def attempt(username):
        barrier.wait()
        try:
            return signup(username=username)
        except Conflict as error:
            return error

    with ThreadPoolExecutor(max_workers=len(spellings)) as pool:
        outcomes = list(pool.map(attempt, spellings))

    winners = [outcome for outcome in outcomes if isinstance(outcome, User)]
    assert len(winners) == 1, outcomes
    assert sum(isinstance(outcome, Conflict) for outcome in outcomes) == len(spellings) - 1
    users = stored_users()
    assert [user.username for user in users] == [winners[0].username]
    claims = stored_claims()
    assert [(claim.pk, claim.user_id) for claim in claims] == [
        ("USERNAME#race", winners[0].user_id)
    ]


def test_a_refused_signup_writes_nothing():
    with pytest.raises(InvalidInput):
        signup(native_language="xx")
    with pytest.raises(InvalidInput):
        signup(password="short")

    assert stored_users() == []
    assert stored_claims() == []


def test_login_returns_the_user_for_the_right_password_in_any_case():
    user = signup(username="Alice")

    assert services.user_login(username="Alice", password=PASSWORD).user_id == user.user_id
    # Usernames are unique regardless of case, and the login looks them up the same way.
    assert services.user_login(username="alice", password=PASSWORD).user_id == user.user_id


def test_login_gives_one_answer_for_every_kind_of_failure():
    signup()
    failures = []

    for username, password in (
        ("alice", "not the password"),
        ("nobody", PASSWORD),
        ("", PASSWORD),
        ("alice", ""),
    ):
        with pytest.raises(Unauthorized) as caught:
            services.user_login(username=username, password=password)
        failures.append(caught.value)

    assert {failure.detail for failure in failures} == {INVALID_CREDENTIALS}
    assert {str(failure) for failure in failures} == {INVALID_CREDENTIALS}
    assert {failure.status for failure in failures} == {401}


def test_login_of_a_disabled_user_is_refused_with_the_same_text():
    user = signup()
    user.update(actions=[User.is_active.set(False)])
    assert user_get(user_id=user.user_id).is_active is False

    with pytest.raises(Unauthorized) as disabled:
        services.user_login(username="alice", password=PASSWORD)
    with pytest.raises(Unauthorized) as wrong:
        services.user_login(username="alice", password="not the password")

    assert disabled.value.detail == INVALID_CREDENTIALS
    assert disabled.value.detail == wrong.value.detail


def test_profile_update_refuses_unknown_fields_and_writes_nothing():
    user = signup()

    for changes in (
        {"username": "mallory"},
        {"password_hash": "forged"},
        {"first_name": "Robert", "is_active": "false"},
        {},
    ):
        with pytest.raises(InvalidInput):
            services.user_profile_update(user=user, changes=changes)

    stored = user_get(user_id=user.user_id)
    assert (stored.username, stored.first_name, stored.is_active) == ("alice", "Alice", True)
    assert stored.password_hash == user.password_hash


def test_profile_update_validates_everything_before_writing_anything():
    user = signup()

    with pytest.raises(InvalidInput, match="native_language"):
        services.user_profile_update(
            user=user, changes={"first_name": "Robert", "native_language": "xx"}
        )

    stored = user_get(user_id=user.user_id)
    assert (stored.first_name, stored.native_language) == ("Alice", "en")

    updated = services.user_profile_update(
        user=user, changes={"first_name": " Robert ", "native_language": "fr"}
    )
    assert (updated.first_name, updated.native_language) == ("Robert", "fr")
    stored = user_get(user_id=user.user_id)
    assert (stored.first_name, stored.last_name, stored.native_language) == (
        "Robert",
        "Liddell",
        "fr",
    )


def _transaction_conflict():
    """What DynamoDB raises when another transaction on the same item is in flight."""
    cause = VerboseClientError(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for "
                "specific reasons [TransactionConflict, None]",
            }
        },
        "TransactWriteItems",
        cancellation_reasons=[
            CancellationReason(
                code="TransactionConflict",
                message="Transaction is ongoing for the item",
            ),
            None,
        ],
    )
    return TransactWriteError("Failed to write transaction items", cause)


def test_a_signup_that_loses_a_transaction_conflict_is_not_an_internal_error(monkeypatch):
    # moto applies transactions one at a time, so the concurrency tests above only ever see
    # ConditionalCheckFailed. Real DynamoDB cancels a transaction that touches an item another
    # transaction is writing with the reason TransactionConflict instead; that is how most of
    # the losers of a signup race are told. Simulate it: the winner's signup has committed and
    # the loser's first attempt meets the conflict.
    winner = signup()
    commits = []

    class ConflictOnce(TransactWrite):
        def _commit(self):
            commits.append(self)
            if len(commits) == 1:
                raise _transaction_conflict()
            return super()._commit()

    monkeypatch.setattr(services, "TransactWrite", ConflictOnce)

    # The loser must hear the ordinary 409 (after a retry, or by reading the reason),
    # never a raw PynamoDB error that the view turns into a 500.
    with pytest.raises(ServiceError) as caught:
        signup(first_name="Loser")
    assert isinstance(caught.value, Conflict)
    assert caught.value.detail == "Username already taken"
    assert [user.user_id for user in stored_users()] == [winner.user_id]

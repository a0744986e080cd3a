"""The test server is moto with apps/core/embedded_dynamo.py's fixes: a cancelled transaction
undoes exactly its own writes, and concurrent transactions do not undo each other."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from apps.accounts.models import UsernameClaim


def _connection():
    return UsernameClaim._get_connection().connection


def test_a_cancelled_transaction_leaves_nothing_applied():
    UsernameClaim(UsernameClaim.key_for("taken"), user_id="first").save()
    with pytest.raises(TransactWriteError):
        with TransactWrite(connection=_connection()) as transaction:
            transaction.save(UsernameClaim(UsernameClaim.key_for("fresh"), user_id="second"))
            transaction.save(
                UsernameClaim(UsernameClaim.key_for("taken"), user_id="second"),
                condition=UsernameClaim.pk.does_not_exist(),
            )
    keys = {claim.pk: claim.user_id for claim in UsernameClaim.scan()}
    assert keys == {UsernameClaim.key_for("taken"): "first"}


def test_concurrent_transactions_do_not_undo_each_other():
    """Stock moto restores whole tables when a transaction is cancelled, wiping what other
    threads committed meanwhile."""

    def claim(number: int) -> bool:
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(UsernameClaim(UsernameClaim.key_for(f"user{number}"), user_id="x"))
                # Every other transaction fails on a shared, already taken key.
                if number % 2:
                    transaction.save(
                        UsernameClaim(UsernameClaim.key_for("shared"), user_id="x"),
                        condition=UsernameClaim.pk.does_not_exist(),
                    )
            return True
        except TransactWriteError:
            return False

    UsernameClaim(UsernameClaim.key_for("shared"), user_id="owner").save()
    # A table of some size makes stock moto's whole-table copy slow enough to interleave.
    with UsernameClaim.batch_write() as batch:
        for number in range(1500):
            batch.save(UsernameClaim(UsernameClaim.key_for(f"filler{number}"), user_id="f"))
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(claim, range(200)))
    committed = {f"user{number}" for number, ok in enumerate(outcomes) if ok}
    assert committed == {f"user{number}" for number in range(0, 200, 2)}
    stored = {
        claim.pk.removeprefix("USERNAME#")
        for claim in UsernameClaim.scan()
        if not claim.pk.startswith("USERNAME#filler")
    }
    assert stored == committed | {"shared"}

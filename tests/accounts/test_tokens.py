"""Access tokens: JWT HS256 signed with JWT_SECRET, subject = user id (client contract)."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from apps.accounts.tokens import (
    TOKEN_TYPE,
    AccessTokenClaims,
    access_token_decode,
    access_token_issue,
    access_token_lifetime_seconds,
)
from apps.core.errors import Unauthorized

USER_ID = "0123456789abcdef0123456789abcdef"
OTHER_SECRET = "another-secret-that-is-certainly-long-enough-0123456789"


@pytest.fixture
def dynamo_tables():
    """These tests never touch DynamoDB, so they skip the fresh tables that the project's
    autouse fixture of this name would create (about 0.6 s a test)."""
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides):
    now = datetime.now(UTC)
    claims = {"sub": USER_ID, "iat": now, "exp": now + timedelta(hours=1), "tv": 0}
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(settings, *, secret=None, algorithm="HS256", headers=None, **overrides):
    return jwt.encode(
        _claims(**overrides),
        settings.JWT_SECRET if secret is None else secret,
        algorithm=algorithm,
        headers=headers,
    )


def _refused(token):
    with pytest.raises(Unauthorized) as caught:
        access_token_decode(token=token)
    assert caught.value.status == 401
    assert caught.value.detail
    return caught.value.detail


def test_token_type_is_bearer():
    assert TOKEN_TYPE == "bearer"


def test_issue_then_decode_round_trips():
    token = access_token_issue(user_id=USER_ID, token_version=3)

    assert isinstance(token, str)
    assert access_token_decode(token=token) == AccessTokenClaims(user_id=USER_ID, token_version=3)


def test_two_logins_in_the_same_second_get_different_tokens():
    """Two devices logging in at once are two sessions; a CI run saw them handed one token."""
    tokens = {access_token_issue(user_id=USER_ID, token_version=0) for _ in range(20)}

    assert len(tokens) == 20


def test_token_claims_and_header_follow_the_contract(settings):
    settings.JWT_EXPIRATION_MINUTES = 37
    before = int(datetime.now(UTC).timestamp())

    token = access_token_issue(user_id=USER_ID, token_version=0)

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    payload = jwt.decode(token, settings.JWT_SECRET, algorithms=["HS256"])
    assert payload["sub"] == USER_ID
    assert payload["exp"] - payload["iat"] == 37 * 60
    assert before - 1 <= payload["iat"] <= int(datetime.now(UTC).timestamp()) + 1
    assert access_token_lifetime_seconds() == 37 * 60


def test_default_lifetime_matches_the_setting(settings):
    token = access_token_issue(user_id=USER_ID, token_version=0)

    payload = jwt.decode(token, settings.JWT_SECRET, algorithms=["HS256"])
    assert payload["exp"] - payload["iat"] == settings.JWT_EXPIRATION_MINUTES * 60
    assert access_token_lifetime_seconds() == settings.JWT_EXPIRATION_MINUTES * 60


def test_token_is_signed_with_the_configured_secret(settings):
    token = access_token_issue(user_id=USER_ID, token_version=0)

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, OTHER_SECRET, algorithms=["HS256"])

    settings.JWT_SECRET = OTHER_SECRET
    assert _refused(token) == "Invalid token"
    assert (
        access_token_decode(token=access_token_issue(user_id=USER_ID, token_version=0)).user_id
        == USER_ID
    )


def test_a_token_with_alg_none_is_refused(settings):
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    assert jwt.get_unverified_header(unsigned)["alg"] == "none"
    assert _refused(unsigned) == "Invalid token"

    # Hand-made variants: other spellings of "none", and the real signature left attached.
    payload = json.dumps(
        {"sub": USER_ID, "exp": int(datetime.now(UTC).timestamp()) + 3600, "tv": 0}
    ).encode()
    signed = access_token_issue(user_id=USER_ID, token_version=0)
    signature = signed.rsplit(".", 1)[1]
    for alg in ("none", "None", "NONE"):
        header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        _refused(f"{header}.{_b64(payload)}.")
        _refused(f"{header}.{_b64(payload)}.{signature}")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_signed_with_hs512_is_refused_even_with_the_right_secret(settings):
    token = _sign(settings, algorithm="HS512")

    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    assert _refused(token) == "Invalid token"


def test_a_token_signed_with_another_key_is_refused(settings):
    assert _refused(_sign(settings, secret=OTHER_SECRET)) == "Invalid token"


def test_a_token_whose_payload_was_tampered_with_is_refused(settings):
    header, _, signature = access_token_issue(user_id=USER_ID, token_version=0).split(".")
    forged = _b64(
        json.dumps(
            {"sub": "someone-else", "exp": int(datetime.now(UTC).timestamp()) + 3600, "tv": 0}
        ).encode()
    )

    assert _refused(f"{header}.{forged}.{signature}") == "Invalid token"


def test_an_expired_token_is_refused(settings):
    past = datetime.now(UTC) - timedelta(hours=2)

    detail = _refused(_sign(settings, iat=past, exp=past + timedelta(hours=1)))

    assert "expired" in detail.lower()


def test_tokens_with_missing_or_malformed_claims_are_refused(settings):
    for name, overrides in {
        "no sub": {"sub": None},
        "no exp": {"exp": None},
        "empty sub": {"sub": ""},
        "numeric sub": {"sub": 42},
        "string tv": {"tv": "0"},
        "float tv": {"tv": 1.5},
        "not yet valid": {"nbf": datetime.now(UTC) + timedelta(hours=1)},
    }.items():
        token = _sign(settings, **overrides)
        assert _refused(token) == "Invalid token", name


def test_strings_that_are_not_tokens_are_refused():
    for token in ("", "garbage", "a.b.c", "Bearer x.y.z", "...", "e30.e30.e30"):
        assert _refused(token) == "Invalid token", token


def test_a_token_without_a_version_counts_as_version_zero(settings):
    claims = access_token_decode(token=_sign(settings, tv=None))

    assert claims == AccessTokenClaims(user_id=USER_ID, token_version=0)

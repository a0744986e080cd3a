from django.conf import settings
from django.http import HttpRequest, JsonResponse

from apps.accounts import actions, selectors
from apps.accounts.http import authenticated
from apps.accounts.languages import LANGUAGES
from apps.accounts.models import User
from apps.accounts.protocol import Language, LogoutAllReply, SocketTicketReply, TokenReply
from apps.accounts.tokens import TOKEN_TYPE, access_token_lifetime_seconds, user_access_token
from apps.core.http import (
    client_address,
    endpoint,
    json_body,
    json_response,
    string_field,
    string_list_field,
)


def _token_reply(user: User, status: int) -> JsonResponse:
    return json_response(
        TokenReply(
            access_token=user_access_token(user=user),
            token_type=TOKEN_TYPE,
            expires_in=access_token_lifetime_seconds(),
        ),
        status=status,
    )


async def _signup(request: HttpRequest) -> JsonResponse:
    body = json_body(request)
    fields = {
        name: string_field(body, name)
        for name in ("username", "password", "first_name", "last_name", "native_language")
    }
    user = await actions.do_signup(**fields, client_address=client_address(request))
    return _token_reply(user, status=201)


async def _login(request: HttpRequest) -> JsonResponse:
    body = json_body(request)
    user = await actions.do_login(
        username=string_field(body, "username"),
        password=string_field(body, "password"),
        client_address=client_address(request),
    )
    return _token_reply(user, status=200)


@authenticated
async def _me(request: HttpRequest, *, user: User) -> JsonResponse:
    return json_response(selectors.user_public_profile(user=user))


@authenticated
async def _me_update(request: HttpRequest, *, user: User) -> JsonResponse:
    body = json_body(request)
    changes: dict[str, object] = {
        name: (
            string_list_field(body, name, what="language codes")
            if name == "read_languages"
            else body[name]
            if name == "presence_visible"
            else string_field(body, name)
        )
        for name in body
    }
    update = await actions.do_update_profile(user=user, changes=changes)
    return json_response(update.profile)


@authenticated
async def _logout_all(request: HttpRequest, *, user: User) -> JsonResponse:
    """Every access token and socket ticket of the user stops working (this request's
    included) and their open sockets close, on every instance."""
    await actions.do_logout_all(user=user)
    return json_response(LogoutAllReply(logged_out=True))


async def _languages(request: HttpRequest) -> JsonResponse:
    return json_response(
        [
            Language(code=language.code, name=language.name, native_name=language.native_name)
            for language in LANGUAGES
        ]
    )


@authenticated
async def _socket_ticket(request: HttpRequest, *, user: User) -> JsonResponse:
    ticket = await actions.do_issue_socket_ticket(user=user)
    return json_response(
        SocketTicketReply(ticket=ticket, expires_in=settings.WS_TICKET_TTL_SECONDS), status=201
    )


signup = endpoint(post=_signup)
socket_ticket = endpoint(post=_socket_ticket)
login = endpoint(post=_login)
me = endpoint(get=_me, patch=_me_update)
logout_all = endpoint(post=_logout_all)
languages = endpoint(get=_languages)

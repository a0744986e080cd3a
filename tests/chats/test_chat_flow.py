from apps.chats import services
from apps.core.concurrency import run_blocking
from tests.support.accounts import user_create
from tests.support.chat_clients import ChatSocket


def _is(kind):
    return lambda frame: frame.get("type") == kind


async def test_message_reaches_both_members_each_in_their_language(translator):
    ana = await run_blocking(user_create)(language="es")
    bob = await run_blocking(user_create)(language="en")
    created = await run_blocking(services.chat_direct_create)(user=bob, other_username=ana.username)
    chat_id = created.membership.chat_id
    bob_socket = await ChatSocket.open(bob)
    ana_socket = await ChatSocket.open(ana)

    await bob_socket.send({"chat_id": chat_id, "text": "Hello there", "client_msg_id": "m1"})

    ack = await bob_socket.wait_for(_is("ack"))
    assert ack["client_msg_id"] == "m1" and ack["seq"] == 1 and ack["duplicate"] is False
    # The ack and the sender's own copy may come in either order.
    earlier = [frame for frame in bob_socket.frames if frame.get("type") == "message"]
    bob_copy = earlier[0] if earlier else await bob_socket.wait_for(_is("message"))
    ana_copy = await ana_socket.wait_for(_is("message"))
    assert bob_copy["message"]["text"] == "Hello there"
    assert bob_copy["message"]["language"] == "en"
    assert ana_copy["message"]["text"] == "[es] Hello there"
    assert ana_copy["message"]["language"] == "es"
    assert (
        ana_copy["message"]["message_id"] == bob_copy["message"]["message_id"] == ack["message_id"]
    )

    # Resending the same client_msg_id acknowledges the first message and stores nothing new.
    await bob_socket.send({"chat_id": chat_id, "text": "Hello there", "client_msg_id": "m1"})
    again = await bob_socket.wait_for(_is("ack"))
    assert again["duplicate"] is True and again["message_id"] == ack["message_id"]
    page = await run_blocking(__import__("apps.chats.selectors", fromlist=["x"]).message_history)(
        chat_id=chat_id, limit=50, before_seq=None
    )
    assert [m.seq for m in page.messages] == [1]
    await bob_socket.close()
    await ana_socket.close()

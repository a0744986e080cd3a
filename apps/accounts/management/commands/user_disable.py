from apps.accounts.actions import do_disable_user
from apps.accounts.management.commands._support import UserActiveCommand


class Command(UserActiveCommand):
    help = (
        "Disable an account: it can no longer log in or open a socket, and every access token "
        "issued to it stops working at once (its token version is raised); its open sockets "
        "close within a second, on every instance. Undo with user_enable."
    )

    action = do_disable_user
    doing = "disable the user"

    def outcome(self, was_active: bool) -> str:
        return "disabled" if was_active else "was already disabled; tokens revoked again"

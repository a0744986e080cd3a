from apps.accounts.actions import do_enable_user
from apps.accounts.management.commands._support import UserActiveCommand


class Command(UserActiveCommand):
    help = (
        "Enable a disabled account: it can log in again. Tokens issued before it was disabled "
        "stay invalid; the person logs in anew."
    )

    action = do_enable_user
    doing = "enable the user"

    def outcome(self, was_active: bool) -> str:
        return "was already enabled" if was_active else "enabled"

"""`manage.py web_push_keys`: make a VAPID key pair for Web Push (apps/core/web_push.py).

Prints the line to put in the backend's environment; browsers get the public key from
`GET /api/push`. Replacing the key later invalidates every browser's subscription (they
subscribed with the old public key): the front end subscribes again the next time it opens.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.core.web_push import vapid_keys_generate


class Command(BaseCommand):
    help = "Make a VAPID key pair for Web Push and print WEB_PUSH_VAPID_PRIVATE_KEY."

    def handle(self, *args: object, **options: object) -> None:
        private, public = vapid_keys_generate()
        self.stdout.write(f"WEB_PUSH_VAPID_PRIVATE_KEY={private}\n")
        self.stdout.write(f"# public key (served by GET /api/push): {public}\n")

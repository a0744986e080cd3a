from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pynamodb.exceptions import PynamoDBException

from apps.core.commands import NO_CREDENTIALS, dynamo_error_reason
from apps.core.dynamo import dynamo_tables_create


class Command(BaseCommand):
    help = (
        "Create the DynamoDB tables (users, chats, user_chats, messages, owed_translations) "
        "and their indexes, then wait until they are ACTIVE. Tables that exist are reported "
        "and left alone. "
        "On-demand billing outside development, provisioned throughput in development."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait-seconds",
            type=float,
            default=300,
            help="how long to wait for the tables to become ACTIVE (default 300)",
        )

    def handle(self, *args, wait_seconds: float, **options):
        target = settings.DYNAMODB_ENDPOINT or f"AWS DynamoDB ({settings.AWS_REGION})"
        try:
            outcomes = dynamo_tables_create(
                development=settings.IS_DEVELOPMENT, wait_seconds=wait_seconds
            )
        except (PynamoDBException, BotoCoreError, ClientError, TimeoutError) as error:
            raise CommandError(f"cannot create tables on {target}: {_reason(error)}") from None
        for outcome in outcomes:
            verb = "created" if outcome.created else "exists "
            self.stdout.write(f"{verb} {outcome.table_name} ({outcome.billing_mode})")
            for index_name in outcome.indexes_added:
                self.stdout.write(f"added index {index_name} to {outcome.table_name}")
        self.stdout.write(self.style.SUCCESS(f"{len(outcomes)} tables ACTIVE on {target}"))


def _reason(error: Exception) -> str:
    reason = dynamo_error_reason(error)
    if reason == NO_CREDENTIALS:
        return f"{reason} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use a role)"
    return reason

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from pynamodb.exceptions import PynamoDBException

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
        self.stdout.write(self.style.SUCCESS(f"{len(outcomes)} tables ACTIVE on {target}"))


def _reason(error: Exception) -> str:
    """One line saying what went wrong, from the innermost botocore error when there is one."""
    cause: BaseException = error
    while (deeper := getattr(cause, "cause", None) or cause.__cause__) is not None:
        cause = deeper
    if isinstance(cause, NoCredentialsError):
        return "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use a role)"
    if isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code", "error")
        message = cause.response.get("Error", {}).get("Message", "")
        return f"{code}: {message}".strip(": ")
    text = str(cause) or type(cause).__name__
    return text.splitlines()[0]

"""Create the demo accounts (one per role) and, when the domain apps provide them, demo data.

Idempotent: a second run finds what the first made and changes nothing.
"""

from __future__ import annotations

import importlib
import importlib.util

from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand
from django.db import transaction

from wherewhen.accounts.models import Role, User

DEMO_USERS = [
    ("researcher", Role.RESEARCHER, "Rita", "Researcher"),
    ("annotator", Role.ANNOTATOR, "Alex", "Annotator"),
    ("reviewer", Role.REVIEWER, "Robin", "Reviewer"),
    ("participant", Role.PARTICIPANT, "Pat", "Participant"),
]


def demo_password(username: str) -> str:
    """The demo account's password: public (it is printed), so never use demo accounts on a
    server others reach (``manage.py up --no-demo``); it still passes the password validators."""
    return f"{username}-demo-pass"


def _legacy_password(username: str) -> str:
    return f"{username}-demo"


@transaction.atomic
def ensure_demo_users() -> list[tuple[str, str, str]]:
    logins = []
    for username, role, first, last in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"role": role, "first_name": first, "last_name": last}
        )
        password = demo_password(username)
        # an install made before the passwords had to pass the validators moves to the new one
        if created or user.check_password(_legacy_password(username)):
            validate_password(password, user)  # the same rules as every other account
            user.set_password(password)
            user.is_staff = role == Role.RESEARCHER
            user.save()
        logins.append((username, password, role))
    return logins


class Command(BaseCommand):
    help = "Create demo users (one per role) and demo data; safe to run again."

    def handle(self, *args, **options):
        logins = ensure_demo_users()
        # Domain apps that have demo data expose ``seed_demo()`` in their ``demo`` module.
        for config in apps.get_app_configs():
            if config.name.startswith("wherewhen.") and config.name != "wherewhen.accounts":
                if importlib.util.find_spec(f"{config.name}.demo") is None:
                    continue
                importlib.import_module(f"{config.name}.demo").seed_demo(stdout=self.stdout)
        lines = "\n".join(f"  {u:<12} {p:<18} ({r})" for u, p, r in logins)
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(lines)
        return lines

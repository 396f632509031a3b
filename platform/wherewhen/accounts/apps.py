from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wherewhen.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from wherewhen.accounts import lockout  # noqa: F401 - connects the sign-in signals

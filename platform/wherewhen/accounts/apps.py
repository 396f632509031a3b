from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "wherewhen.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

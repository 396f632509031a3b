from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    RESEARCHER = "researcher", "Researcher"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    PARTICIPANT = "participant", "Participant"


class User(AbstractUser):
    """A person using WhereWhen; what they may do follows from ``role``."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.RESEARCHER)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

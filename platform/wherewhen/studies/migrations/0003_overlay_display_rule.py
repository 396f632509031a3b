import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0002_pointing_tolerance_from_project"),
    ]

    operations = [
        migrations.AddField(
            model_name="study",
            name="overlay_normalization",
            field=models.CharField(
                choices=[
                    ("frame", "Each frame on its own (every frame shows its hottest region)"),
                    ("clip", "The whole clip at once (quiet frames stay quiet)"),
                ],
                default="frame",
                help_text="how the explanation map is scaled before the threshold, as in the player",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="study",
            name="overlay_threshold",
            field=models.FloatField(
                default=0.2,
                help_text="cells below this fraction of the scaled range are not drawn",
                validators=[
                    django.core.validators.MinValueValidator(0.01),
                    django.core.validators.MaxValueValidator(0.95),
                ],
            ),
        ),
        migrations.AddField(
            model_name="response",
            name="overlay_display_rule",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='the overlay as the participant saw it: {"normalization", "threshold"}',
            ),
        ),
    ]

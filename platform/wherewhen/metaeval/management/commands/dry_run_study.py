"""``manage.py dry_run_study STUDY --metric 8 --random 2 --careless 1 --project P``: simulated
participants answer a copy of the study through the participant API (``metaeval.dryrun``)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from wherewhen.core import exceptions
from wherewhen.metaeval import dryrun
from wherewhen.studies.models import Study


class Command(BaseCommand):
    help = "Dry-run a study: simulated participants answer a copy of it through the real API."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's id or slug")
        for policy in dryrun.POLICIES:
            parser.add_argument(f"--{policy}", type=int, default=0, help=f"{policy} participants")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--project", type=int, help="whose scores the metric policy follows")
        parser.add_argument("--follow", default="spatial", help="the metric the policy follows")

    def handle(self, *args, **options):
        key = options["study"]
        study = Study.objects.filter(slug=key).first()
        if study is None and key.isdigit():
            study = Study.objects.filter(pk=int(key)).first()
        if study is None:
            raise CommandError(f"No study {key!r}.")
        body = {
            "participants": {p: options[p] for p in dryrun.POLICIES if options[p]},
            "seed": options["seed"],
            "project": options["project"],
            "metric": options["follow"],
        }
        try:
            run = dryrun.dry_run(study.owner, study, body)
        except exceptions.DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(dryrun.payload(run), indent=1))

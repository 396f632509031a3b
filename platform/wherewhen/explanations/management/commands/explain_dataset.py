"""Explain every video of a dataset with some methods, following the run with a progress bar.

    python manage.py explain_dataset --dataset NAME --model NAME --methods staa,staa_plus

The work is done by the gpu workers (the run is the same as ``POST /api/v1/bulk-runs/``); this
command queues it and shows done/total and the ETA until every explanation is finished. With
``--no-wait`` it queues the run and returns at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from wherewhen.accounts.models import User
from wherewhen.core.exceptions import Invalid
from wherewhen.explanations import services
from wherewhen.explanations.models import RegisteredModel
from wherewhen.videos.models import Dataset


class Command(BaseCommand):
    help = "Explain a dataset with one model and several methods (a bulk run), with progress."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="dataset name")
        parser.add_argument("--model", required=True, help="registered model name")
        parser.add_argument("--methods", required=True, help="comma-separated method names")
        parser.add_argument("--owner", help="username owning the dataset (when names repeat)")
        parser.add_argument(
            "--params",
            default="{}",
            help='JSON: method -> parameters, e.g. {"rise": {"n_masks": 200}}',
        )
        parser.add_argument("--target", type=int, default=None, help="class index (default top-1)")
        parser.add_argument("--no-wait", action="store_true", help="queue the run and return")
        parser.add_argument(
            "--timeout", type=float, default=0, help="stop waiting after N s (0: never)"
        )
        parser.add_argument("--poll", type=float, default=1.0, help="seconds between updates")

    def handle(self, *args, **opts):
        datasets = Dataset.objects.filter(name=opts["dataset"])
        if opts.get("owner"):
            datasets = datasets.filter(owner__username=opts["owner"])
        found = list(datasets.select_related("owner")[:2])
        if not found:
            raise CommandError(f"No dataset named {opts['dataset']!r}.")
        if len(found) > 1:
            raise CommandError(
                f"Several users have a dataset named {opts['dataset']!r}; pick one with --owner."
            )
        dataset = found[0]
        model = RegisteredModel.objects.filter(name=opts["model"]).first()
        if model is None:
            names = ", ".join(RegisteredModel.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No model named {opts['model']!r} (registered: {names}).")
        try:
            params = json.loads(opts["params"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not valid JSON: {exc}") from exc
        methods = [m.strip() for m in opts["methods"].split(",") if m.strip()]
        owner: User = dataset.owner
        try:
            run = services.start_bulk_run(
                owner,
                dataset=dataset,
                model=model,
                method_names=methods,
                params=params,
                target=opts["target"],
            )
        except Invalid as exc:
            raise CommandError(_describe(exc.detail)) from exc
        for skipped in run.skipped:
            self.stderr.write(f"skipped video {skipped['video']}: {skipped['reason']}")
        progress = services.bulk_progress(run)
        self.stdout.write(
            f"Bulk run {run.pk}: {progress['total']} explanation(s) of {dataset.name} with "
            f"{model.name} ({', '.join(methods)})."
        )
        if opts["no_wait"]:
            return
        started = time.monotonic()
        with tqdm(
            total=progress["total"], unit="expl", file=self.stderr, dynamic_ncols=True
        ) as bar:
            while True:
                progress = services.bulk_progress(run)
                bar.n = progress["finished"]
                eta = progress["eta_seconds"]
                bar.set_postfix_str(
                    f"failed={progress['failed']} eta={'?' if eta is None else f'{eta:.0f}s'}"
                )
                bar.refresh()
                if progress["state"] == "finished":
                    break
                if opts["timeout"] and time.monotonic() - started > opts["timeout"]:
                    raise CommandError(
                        f"Stopped waiting after {opts['timeout']} s; the run goes on "
                        f"({progress['finished']}/{progress['total']} finished)."
                    )
                time.sleep(opts["poll"])
        self.stdout.write(
            f"Finished: {progress['done']} done, {progress['failed']} failed of {progress['total']}."
        )


def _describe(detail) -> str:
    """``field: message; field: message`` (or the bare messages) of an :class:`Invalid`."""
    if isinstance(detail, Mapping):
        return "; ".join(f"{field}: {' '.join(_texts(v))}" for field, v in detail.items())
    return " ".join(_texts(detail))


def _texts(value) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]

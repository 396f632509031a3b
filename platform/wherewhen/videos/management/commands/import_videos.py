"""Bulk import: ``manage.py import_videos (--folder DIR | --manifest CSV) --owner USERNAME``.

A manifest is a CSV file with a header row naming a ``path`` column and, optionally, ``label``,
``split`` and ``title``. Relative paths are resolved under the import root (``--root``, else
``VIDEO_IMPORT_ROOT``, else the manifest's folder); a path that leads outside the root (``..``,
an absolute path elsewhere, a symbolic link out) is refused, and so is the whole manifest: it is
checked completely before anything is imported. Content already in the owner's library is not
imported twice.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from wherewhen.videos import services
from wherewhen.videos.models import Video


@dataclass
class Entry:
    path: Path
    name: str
    label: str = ""
    split: str = ""
    title: str = ""


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def read_manifest(manifest: Path, root: Path) -> list[Entry]:
    """Entries of ``manifest``; raises CommandError listing every bad line."""
    try:
        handle = open(manifest, newline="", encoding="utf-8-sig")  # noqa: SIM115
    except OSError as exc:
        raise CommandError(f"Cannot read the manifest {manifest}: {exc.strerror}.") from exc
    with handle:
        reader = csv.DictReader(handle)
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        if "path" not in columns:
            raise CommandError(
                f"{manifest} needs a header row with a 'path' column "
                "(and optionally 'label', 'split' and 'title')."
            )
        entries, problems = [], []
        for row in reader:
            line = reader.line_num
            values = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            raw = values.get("path", "")
            if not raw:
                problems.append(f"line {line}: the path is empty")
                continue
            candidate = Path(raw)
            resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
            if not _inside(resolved, root):
                problems.append(
                    f"line {line}: {raw!r} is outside the import root {root}; "
                    "manifest paths must stay inside it"
                )
                continue
            if not resolved.is_file():
                problems.append(f"line {line}: there is no file at {raw!r} (under {root})")
                continue
            entries.append(
                Entry(
                    path=resolved,
                    name=candidate.name,
                    label=values.get("label", ""),
                    split=values.get("split", ""),
                    title=values.get("title", ""),
                )
            )
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise CommandError(f"Nothing was imported; fix the manifest {manifest}:\n  {shown}{more}")
    return entries


def read_folder(folder: Path, labels_from_folders: bool) -> tuple[list[Entry], list[str]]:
    entries, skipped = [], []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() not in services.VIDEO_EXTENSIONS:
            continue
        resolved = path.resolve()
        if not _inside(resolved, folder):
            skipped.append(f"{relative}: a link to outside the folder, skipped")
            continue
        label = relative.parts[-2] if labels_from_folders and len(relative.parts) > 1 else ""
        entries.append(Entry(path=resolved, name=path.name, label=label))
    return entries, skipped


class Command(BaseCommand):
    help = "Import videos from a server folder or a manifest CSV (path, label, split)."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--folder", type=Path, help="import every video file under DIR")
        source.add_argument("--manifest", type=Path, help="CSV with path[, label, split, title]")
        parser.add_argument("--owner", required=True, help="username of the owning researcher")
        parser.add_argument("--dataset", help="also add the videos to this dataset (created)")
        parser.add_argument("--root", type=Path, help="import root for manifest paths")
        parser.add_argument(
            "--now",
            action="store_true",
            help="process each video here, synchronously (default: queue it for a media worker)",
        )
        parser.add_argument(
            "--labels-from-folders",
            action="store_true",
            help="with --folder: label each video with the name of the folder it is in",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        User = get_user_model()
        try:
            owner = User.objects.get(username=options["owner"])
        except User.DoesNotExist as exc:
            raise CommandError(f"There is no user named {options['owner']!r}.") from exc

        if options["folder"]:
            folder = options["folder"].resolve()
            if not folder.is_dir():
                raise CommandError(f"{options['folder']} is not a folder.")
            entries, skipped = read_folder(folder, options["labels_from_folders"])
            for message in skipped:
                self.stderr.write(message)
        else:
            manifest = options["manifest"].resolve()
            root_option = options["root"] or settings.VIDEO_IMPORT_ROOT or manifest.parent
            root = Path(root_option).resolve()
            if not root.is_dir():
                raise CommandError(f"The import root {root} is not a folder.")
            entries = read_manifest(manifest, root)
        if not entries:
            self.stdout.write("No video files to import.")
            return

        process = "now" if options["now"] else "queue"
        counts = {"new": 0, "known": 0, "rejected": 0, "ready": 0, "failed": 0}
        bar = tqdm(
            entries,
            unit="video",
            desc="Importing",
            file=getattr(self.stderr, "_out", sys.stderr),
            disable=options["no_progress"],
            dynamic_ncols=True,
        )
        for entry in bar:
            bar.set_postfix_str(entry.name[-40:], refresh=False)
            try:
                outcome = services.ingest_file(
                    owner=owner,
                    path=entry.path,
                    original_name=entry.name,
                    title=entry.title,
                    label=entry.label,
                    split=entry.split,
                    dataset=options["dataset"],
                    process=process,
                )
            except services.VideoRejected as exc:
                counts["rejected"] += 1
                bar.write(f"{entry.path}: not imported: {exc}", file=self.stderr._out)
                continue
            counts["new" if outcome.created else "known"] += 1
            if outcome.created and process == "now":
                video = outcome.video
                if video.status == Video.Status.READY:
                    counts["ready"] += 1
                else:
                    counts["failed"] += 1
                    bar.write(
                        f"{entry.path}: processing failed: {video.error}", file=self.stderr._out
                    )
        bar.close()

        summary = (
            f"Imported {counts['new']} new video(s); {counts['known']} already in the library; "
            f"{counts['rejected']} not imported."
        )
        if process == "now":
            summary += f" Processed: {counts['ready']} ready, {counts['failed']} failed."
        else:
            summary += " New videos are queued for processing."
        self.stdout.write(summary)

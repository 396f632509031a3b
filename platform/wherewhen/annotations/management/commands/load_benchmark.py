"""Load synthetic benchmark clips with their known ground truth into a researcher's library."""

from django.core.management.base import BaseCommand, CommandError

from wherewhen.accounts.models import User
from wherewhen.annotations.benchmark import BENCHMARK_DATASET, BENCHMARK_PROJECT, load_benchmark


class Command(BaseCommand):
    help = (
        "Generate synthetic benchmark clips, add them to the library (dataset "
        f"'{BENCHMARK_DATASET}') and store their ground truth as accepted annotations "
        f"(project '{BENCHMARK_PROJECT}')."
    )

    def add_arguments(self, parser):
        parser.add_argument("--owner", required=True, help="username of the researcher")
        parser.add_argument("--n", type=int, default=20, help="number of clips (default 20)")
        parser.add_argument("--seed", type=int, default=7, help="benchmark seed (default 7)")
        parser.add_argument("--no-audio", action="store_true", help="clips without the tone")

    def handle(self, *args, owner, n, seed, no_audio, **options):
        user = User.objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"There is no user named {owner!r}.")
        if not 1 <= n <= 1000:
            raise CommandError(f"--n must be between 1 and 1000, got {n}.")
        videos = load_benchmark(user, n=n, seed=seed, audio=not no_audio)
        self.stdout.write(f"{len(videos)} benchmark clip(s) ready with ground truth.")

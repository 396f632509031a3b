"""Synthetic benchmark clips enter the library with their known ground truth."""

import pytest
from django.core.management import CommandError, call_command

from wherewhen.accounts.models import Role, User
from wherewhen.annotations.benchmark import BENCHMARK_PROJECT, load_benchmark
from wherewhen.annotations.models import Project
from wherewhen.annotations.services import ground_truth_for_video
from wherewhen.videos.models import Video
from workers.synthetic import ground_truth, scene_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def researcher():
    return User.objects.create_user("rita", password="pw-rita-12345", role=Role.RESEARCHER)


def test_benchmark_clips_carry_their_ground_truth(researcher):
    videos = load_benchmark(researcher, n=2, seed=3)
    assert len(videos) == 2
    project = Project.objects.get(owner=researcher, name=BENCHMARK_PROJECT)
    for index, video in enumerate(videos):
        assert video.status == Video.Status.READY
        expected = ground_truth(scene_for(3, index), audio=True)
        gt = ground_truth_for_video(project, video)
        assert gt["source"] == "consensus"
        assert gt["label"] == expected["label"]
        boxed = {f["frame"]: f["boxes"] for f in gt["frames"] if f["boxes"]}
        # Exactly the event frames carry a box, and it is the generator's box.
        assert sorted(boxed) == [b["frame"] for b in expected["boxes"]]
        for box in expected["boxes"]:
            [got] = boxed[box["frame"]]
            assert got == pytest.approx([box["x0"], box["y0"], box["x1"], box["y1"]])
        assert gt["when"]["visual"] == [
            pytest.approx([expected["when"]["start"], expected["when"]["end"]])
        ]
        assert gt["when"]["sound"] == [
            pytest.approx([expected["sound"]["start"], expected["sound"]["end"]])
        ]


def test_loading_twice_adds_nothing(researcher):
    load_benchmark(researcher, n=1, seed=3)
    load_benchmark(researcher, n=1, seed=3)
    assert Video.objects.filter(owner=researcher).count() == 1
    project = Project.objects.get(owner=researcher, name=BENCHMARK_PROJECT)
    assert project.tasks.get().assignments.count() == 1


def test_command_rejects_unknown_owner():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("load_benchmark", "--owner", "ghost", "--n", "1")

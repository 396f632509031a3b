"""Fixtures for the study tests: done explanations made directly in the database (small map
files, no model run), a study over them, and a participant client."""

from __future__ import annotations

import json
import uuid

import numpy as np

from tests.explanations_support import TINY_LABELS, ready_video

METHODS = ["staa", "staa_plus", "rollout"]
MODEL_NAME = "tinyvit"


def make_model(owner):
    from wherewhen.explanations.models import RegisteredModel

    return RegisteredModel.objects.create(
        owner=owner,
        name=MODEL_NAME,
        architecture="timesformer",
        checkpoint_dir="/nonexistent",
        labels=list(TINY_LABELS),
        input_spec={"num_frames": 4, "image_size": 32, "patch_size": 8},
        fingerprint="f" * 64,
    )


def make_explanation(
    video,
    model,
    method: str,
    *,
    predicted: int = 2,
    seed: int = 0,
    target: int | None = None,
    heat: np.ndarray | None = None,
):
    """A done explanation of the model's prediction ``predicted`` (top-1), computed for class
    ``target`` (default: the predicted class); its map ``heat`` (4 x 4 x 4) or random."""
    from wherewhen.explanations import storage
    from wherewhen.explanations.models import Explanation

    if heat is None:
        heat = np.random.default_rng(seed).random((4, 4, 4)).astype(np.float32)
    key = uuid.uuid4().hex
    map_file, sha = storage.write_map(key, heat)
    return Explanation.objects.create(
        request_key=key,
        video=video,
        model=model,
        method=method,
        params_hash="0" * 64,
        status=Explanation.Status.DONE,
        map_file=map_file,
        map_sha256=sha,
        grid=[4, 4, 4],
        temporal=[0.1, 0.5, 0.9, 0.3],
        timestamps=[0.0, 0.25, 0.5, 0.75],
        target=target,
        explained_target=predicted if target is None else target,
        topk=[{"label_index": predicted, "label": TINY_LABELS[predicted], "probability": 0.9}],
        value_range=[float(heat.min()), float(heat.max())],
    )


def make_study(owner, media_root, *, n_videos: int = 2, methods=METHODS, **fields):
    from wherewhen.studies import services
    from wherewhen.studies.models import Study

    model = make_model(owner)
    explanations = []
    for v in range(n_videos):
        video = ready_video(owner, media_root, title=f"clip{v}")
        for k, method in enumerate(methods):
            explanations.append(make_explanation(video, model, method, seed=10 * v + k))
    values = {
        "owner": owner,
        "title": "Which map helps?",
        "slug": "which-map",
        "status": Study.Status.OPEN,
        "trial_kinds": ["rating", "pairwise", "forward"],
        "trials_per_participant": 6,
        "practice_trials": 1,
        "attention_every": 3,
        "attention_checks": [
            {
                "prompt": "Please pick 'blue' to show you are reading.",
                "choices": ["red", "blue"],
                "answer": "blue",
            }
        ],
        "min_response_ms": 0,
        "consent_text": "I agree to take part.",
        "instructions_text": "Look at each highlighted video and answer.",
        "completion_code": "C0DE1234",
    }
    values.update(fields)
    study = Study.objects.create(**values)
    services.add_stimuli(study, explanations)
    return study


def make_distinction_study(
    owner, media_root, *, n_videos: int = 2, methods=("staa", "rollout"), k: int = 3, **fields
):
    """A study with distinction trials: per clip and method, explanations for all four classes
    of the tiny model (the predicted class, 2, among them)."""
    from wherewhen.studies import services
    from wherewhen.studies.models import Study

    model = make_model(owner)
    explanations = []
    for v in range(n_videos):
        video = ready_video(owner, media_root, title=f"clip{v}")
        for m, method in enumerate(methods):
            for target in range(len(TINY_LABELS)):
                explanations.append(
                    make_explanation(
                        video, model, method, seed=100 * v + 10 * m + target, target=target
                    )
                )
    values = {
        "owner": owner,
        "title": "Which class?",
        "slug": "which-class",
        "status": Study.Status.OPEN,
        "trial_kinds": ["distinction"],
        "distinction_k": k,
        "trials_per_participant": 4,
        "practice_trials": 0,
        "attention_every": 0,
        "min_response_ms": 0,
        "completion_code": "DONE1234",
        "screen_out_code": "SCREEN99",
    }
    values.update(fields)
    study = Study.objects.create(**values)
    services.add_stimuli(study, explanations)
    return study


class Participant:
    """A participant's browser against the participant API (Django test client)."""

    def __init__(self, client, slug: str, params: dict[str, str]):
        self.client = client
        self.slug = slug
        self.params = params
        self.token: str | None = None
        self.bodies: list[tuple[dict, bytes]] = []  # (headers, body) of every response

    def _keep(self, response):
        if getattr(response, "streaming", False):
            body = b"".join(response.streaming_content)
            response.streaming_content = [body]
        else:
            body = response.content
        self.bodies.append((dict(response.headers), body))
        return response

    def post(self, path: str, body: dict | None = None):
        headers = {"HTTP_X_STUDY_SESSION": self.token} if self.token else {}
        return self._keep(
            self.client.post(
                f"/api/v1/participate/{path}",
                json.dumps(body or {}),
                content_type="application/json",
                **headers,
            )
        )

    def get(self, path: str):
        headers = {"HTTP_X_STUDY_SESSION": self.token} if self.token else {}
        return self._keep(self.client.get(path, **headers))

    def start(self):
        response = self.post(f"start/{self.slug}/", {"params": self.params})
        if response.status_code == 200:
            self.token = response.json()["session"]
        return response

    def trial(self):
        return self.get("/api/v1/participate/trial/")

    def answer(self, index: int, answer: dict, response_id: str | None = None):
        return self.post(
            "answer/",
            {
                "index": index,
                "response_id": response_id or uuid.uuid4().hex,
                "answer": answer,
                "client_ms": 900,
                "viewport": {"width": 1280, "height": 720},
            },
        )


def good_answer(trial: dict) -> dict:
    """A valid answer for a served trial (correct on attention checks), with a confidence
    rating where the trial asks for one."""
    answer = _good_answer(trial)
    if trial.get("confidence"):
        answer["confidence"] = 4
    return answer


def _good_answer(trial: dict) -> dict:
    kind = trial["kind"]
    if kind == "rating":
        return {"rating": 5}
    if kind == "pairwise":
        return {"choice": trial["stimuli"][0]["id"]}
    if kind in ("forward", "distinction"):
        return {"label": 2}
    if kind == "pointing":
        return {"x": 10, "y": 10, "time": 0.2}
    return {"choice": "blue"}

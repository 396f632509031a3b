"""The annotator's next task: the queue, leases and taking a slot (drafts and submission: ``work``).

Leases
    ``next_task`` gives an annotator an assignment with a lease (``Project.lease_minutes``,
    30 by default). Saving a draft renews it. A lease that runs out returns the slot to the
    pool: the assignment stops counting toward the video's ``k``, and saving or submitting it
    is refused (409) until the annotator gets it back with ``resume`` or ``next_task`` (their
    draft is still there) — which works only while the video still has a free slot.

Rework
    A rejected annotation goes back to its annotator and keeps its slot for the project's
    ``rework_minutes`` (two days by default), counted from the rejection and stored in
    ``lease_expires_at``. The annotator's next ``next_task`` returns it first. If they do not
    open it in time, the next queue request of anyone marks it expired, like a lapsed lease:
    the slot is free for another annotator, who starts from an empty annotation (the
    annotations of one video stay independent, which agreement needs). The original's draft,
    with the reviewer's notes, stays on their assignment; they can take it back with ``resume``
    or ``next_task`` while the video still has a free slot. No beat task is involved: the live
    count of the pick query already ignores rework past its time.

Concurrency
    A slot is taken while holding a lock on its task's row, and the count of live assignments
    is taken under that lock, so two annotators can never both take the last slot. Requests of
    one annotator are serialized by locking their user row first thing in the transaction
    (``resume`` does the same), so double clicks never give two tasks. A unique constraint on
    (task, annotator) backs this up in the database.

    On PostgreSQL a request for a regular video runs, after marking lapsed leases expired:

    1. one statement that locks the annotator's user row and checks that the project asked
       for is open to them, then one that looks for their own work (in progress, or sent
       back), which must see everything their earlier requests committed;
    2. one query that picks the fullest candidate video whose row no other request holds and
       locks it (``... ORDER BY live DESC, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED``), so
       concurrent requests spread over the videos instead of queueing on one row;
    3. one query that counts the video's live assignments (and the annotator's own) under the
       lock. It starts after the lock was granted, so it sees every slot taken before, which
       the candidate query's snapshot may not;
    4. the insert of the assignment (or the update reopening their expired one, draft kept).

    No step sleeps or polls. When every candidate is held by requests in flight, the request
    waits for one of their rows (the same query without SKIP LOCKED, the candidates in an
    order of the annotator's own, so that waiting requests spread over the held rows instead of
    all queueing on the fullest), and PostgreSQL wakes it when the holder commits. If the count
    in step 3 shows the video full (filled by a request that committed after the candidate
    query), the row is let go and the request picks again; that candidate query sees the video
    full. A try that may wait runs in a savepoint, rolled back to let the row go; the first
    try, which nearly always succeeds, runs without one, and on that rare failure the whole
    transaction is started again (trying in savepoints). A request so holds its user row and
    at most one task row, and waits for a task row only while holding no other, so requests
    cannot deadlock one another.

    On SQLite (no row locks) each ``next_task`` transaction starts with a write, which takes
    SQLite's single write lock and serializes the whole read-count-insert; the candidate
    query's counts are then exact and one pick is enough.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from wherewhen.accounts.models import User
from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.annotations.services.access import open_projects_for, takes_tasks
from wherewhen.annotations.services.quality import is_qualified
from wherewhen.core.exceptions import NotAllowed

logger = logging.getLogger(__name__)

Status = Assignment.Status
Source = Assignment.Source

# Tries of one request to take a slot; a try fails only when another request filled the video
# it picked meanwhile, so this is never reached in practice.
MAX_TRIES = 50


#: Statuses that hold a slot whatever the time (rejected and in-progress work: while its lease,
#: or its time to come back, has not run out).
SETTLED = (Status.SUBMITTED, Status.ACCEPTED)
LEASED = (Status.IN_PROGRESS, Status.REJECTED)


def live_q(now: datetime) -> Q:
    """Assignments that hold a slot of their video: crowd work that is submitted or accepted,
    rejected (back with its annotator, until its ``rework_minutes`` run out) or in progress
    under a lease that has not run out."""
    return Q(source=Source.CROWD) & (
        Q(status__in=SETTLED) | Q(status__in=LEASED, lease_expires_at__gt=now)
    )


def _lease_end(project: Project, now: datetime) -> datetime:
    return now + timedelta(minutes=project.lease_minutes)


def expire_leases(now: datetime | None = None) -> int:
    """Mark assignments whose lease ran out as expired (their drafts stay), and rejected work
    whose annotator did not come back within the project's ``rework_minutes``. Idempotent: a
    conditional UPDATE, safe to run from any number of requests (or a periodic task) at once."""
    now = now or timezone.now()
    lapsed = Q(lease_expires_at__lte=now) | Q(lease_expires_at__isnull=True)
    return Assignment.objects.filter(lapsed, status__in=LEASED).update(status=Status.EXPIRED)


def _lock_annotator(annotator: User, project: Project | None = None) -> None:
    """Serialize one annotator's queue requests; given a project, refuse it (403) unless it is
    open to them (on PostgreSQL in the same statement). On SQLite the UPDATE also takes the
    database's write lock first thing in the transaction, which serializes every queue
    transaction."""
    users = User.objects.filter(pk=annotator.pk)
    if connection.features.has_select_for_update:
        # NO KEY UPDATE: conflicts with itself, but not with rows that merely refer to the user.
        users = users.select_for_update(no_key=True, of=("self",))
        if project is None:
            list(users.values_list("pk", flat=True))
            return
        is_open = open_projects_for(annotator).filter(pk=project.pk)
        allowed = list(users.annotate(open=Exists(is_open)).values_list("open", flat=True))
        if not (allowed and allowed[0]):
            raise NotAllowed("This project is not open to you.")
        return
    users.update(role=F("role"))
    if project is not None and not open_projects_for(annotator).filter(pk=project.pk).exists():
        raise NotAllowed("This project is not open to you.")


class _Filled(Exception):
    """The video a request locked was filled meanwhile (see ``_take_slot``)."""


def next_task(
    annotator: User, project: Project | None = None, now: datetime | None = None
) -> Assignment | None:
    """The annotator's next assignment, or None when there is nothing for them.

    In order: their own assignment in progress (lease renewed), one a reviewer sent back to
    them, a gold item when one is due (the first task and then every ``gold_every``-th), then a
    video they have not done whose live assignments are fewer than its ``k``, fullest first so
    videos get finished (and reviewed) early. Safe to call concurrently (see the module doc).
    """
    if not takes_tasks(annotator):
        raise NotAllowed("Only annotators get annotation tasks.")
    now = now or timezone.now()
    expire_leases(now)
    if project is not None:
        projects = [project]
    else:
        projects = list(open_projects_for(annotator).order_by("created_at", "id"))
        if not projects:
            return None
    attempt, careful = 0, False
    while attempt < 3:
        try:
            with transaction.atomic():
                _lock_annotator(annotator, project)
                return _next_task_locked(annotator, projects, now, careful)
        except _Filled:
            careful = True  # once: the next transaction tries each video in a savepoint
        except IntegrityError:
            # The unique (task, annotator) constraint caught a race the locks did not.
            attempt += 1
            logger.warning("next_task: integrity error on attempt %d, retrying", attempt)
        except OperationalError as error:
            # A deadlock PostgreSQL broke (not expected, see the module doc): retry.
            attempt += 1
            if getattr(error.__cause__, "sqlstate", None) != "40P01" or attempt == 3:
                raise
            logger.warning("next_task: deadlock on attempt %d, retrying", attempt)
    return None


def _mine(annotator: User, projects: list[Project]) -> QuerySet[Assignment]:
    return Assignment.objects.filter(
        annotator=annotator, task__project__in=projects
    ).select_related("task__project")


def _own_work(annotator: User, projects: list[Project], now: datetime) -> Assignment | None:
    """The annotator's assignment in progress (the lease ending first), else the one a
    reviewer sent back first: one query, and a second to load it when there is one."""
    assignment, task = (
        connection.ops.quote_name(model._meta.db_table) for model in (Assignment, Task)
    )
    in_projects = ", ".join(f"%(project{i})s" for i in range(len(projects)))
    in_progress = "a.status = %(in_progress)s AND a.lease_expires_at > %(now)s"
    sql = f"""
        SELECT a.id FROM {assignment} a JOIN {task} t ON t.id = a.task_id
        WHERE a.annotator_id = %(annotator)s AND t.project_id IN ({in_projects})
            AND (({in_progress}) OR (a.status = %(rejected)s AND a.lease_expires_at > %(now)s))
        ORDER BY CASE WHEN {in_progress} THEN 0 ELSE 1 END,
            CASE WHEN {in_progress} THEN a.lease_expires_at ELSE a.reviewed_at END, a.id
        LIMIT 1"""
    params = _params(
        annotator,
        now,
        rejected=Status.REJECTED,
        **{f"project{i}": project.pk for i, project in enumerate(projects)},
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _mine(annotator, projects).get(pk=row[0])


def _next_task_locked(
    annotator: User, projects: list[Project], now: datetime, careful: bool
) -> Assignment | None:
    own = _own_work(annotator, projects, now)
    if own is not None and own.status == Status.IN_PROGRESS:
        own.lease_expires_at = _lease_end(own.task.project, now)
        own.save(update_fields=["lease_expires_at"])
        return own
    if own is not None:
        return _reopen(own, now)
    for project in projects:
        qualified = is_qualified(annotator.pk, project)
        assignment = _gold_if_due(annotator, project, now, qualified)
        if assignment is None and qualified:
            # Real work only once the annotator passed the project's qualification gold items.
            assignment = _take_slot(annotator, project, now, careful)
        if assignment is not None:
            return assignment
    return None


def _reopen(assignment: Assignment, now: datetime) -> Assignment:
    assignment.status = Status.IN_PROGRESS
    assignment.lease_expires_at = _lease_end(assignment.task.project, now)
    assignment.save(update_fields=["status", "lease_expires_at"])
    return assignment


def _create(task: Task, annotator: User, now: datetime) -> Assignment:
    return Assignment.objects.create(
        task=task,
        annotator=annotator,
        source=Source.CROWD,
        status=Status.IN_PROGRESS,
        lease_expires_at=_lease_end(task.project, now),
    )


def _start(task: Task, annotator: User, now: datetime) -> Assignment:
    """Create the annotator's assignment on ``task``, or bring back their expired one (with its
    draft). The caller holds whatever lock makes this safe."""
    assignment = Assignment.objects.filter(task=task, annotator=annotator).first()
    if assignment is None:
        return _create(task, annotator, now)
    assignment.task = task
    return _reopen(assignment, now)


def _gold_if_due(
    annotator: User, project: Project, now: datetime, qualified: bool = True
) -> Assignment | None:
    """A gold item when one is due: every one in turn while the annotator is not yet qualified,
    then the first task and every ``gold_every``-th."""
    if not project.gold_every and qualified:
        return None
    done = Assignment.objects.filter(annotator=annotator, task__project=project).exclude(
        status=Status.EXPIRED
    )
    if qualified:
        counts = done.aggregate(all=Count("id"), gold=Count("id", filter=Q(task__is_gold=True)))
        if counts["gold"] * project.gold_every > counts["all"]:
            return None
    has_answer = Assignment.objects.filter(task=OuterRef("pk"), source=Source.GOLD)
    task = (
        Task.objects.filter(project=project, is_gold=True)
        .filter(Exists(has_answer))
        .exclude(Exists(done.filter(task=OuterRef("pk"))))
        .select_related("project")
        .order_by("id")
        .first()
    )
    return _start(task, annotator, now) if task is not None else None


def _sql_live(alias: str) -> str:
    """``live_q`` in SQL, for the assignment table under ``alias`` (parameters: ``_params``)."""
    settled = ", ".join(f"%(settled{i})s" for i in range(len(SETTLED)))
    leased = ", ".join(f"%(leased{i})s" for i in range(len(LEASED)))
    return (
        f"({alias}.source = %(crowd)s AND ({alias}.status IN ({settled}) OR "
        f"({alias}.status IN ({leased}) AND {alias}.lease_expires_at > %(now)s)))"
    )


@cache
def _sql() -> tuple[str, str, str]:
    """(candidates, candidates to wait for, slot counts), written once per process.

    Candidates: regular videos of a project with a free slot that the annotator holds no slot
    of, fullest first, then in order; the counts are those of the statement's snapshot, so
    whoever takes a slot counts again under the task's lock. The locking clause, if any, is
    appended. Candidates to wait for: the same in an order of the annotator's own (a hash of
    task and annotator), so that requests waiting for rows held by others spread over them
    instead of all queueing on the fullest one, which has room for few of them.

    Slot counts, with the task's row locked: its live slots, and the annotator's assignments on
    it (any, and live)."""
    task, project, assignment = (
        connection.ops.quote_name(model._meta.db_table) for model in (Task, Project, Assignment)
    )
    live = f"(SELECT COUNT(*) FROM {assignment} a WHERE a.task_id = t.id AND {_sql_live('a')})"
    candidates = f"""
        SELECT t.*, p.overlap + t.extra_overlap AS needed, {live} AS live
        FROM {task} t JOIN {project} p ON p.id = t.project_id
        WHERE t.project_id = %(project)s AND t.is_gold = %(no)s
            AND {live} < p.overlap + t.extra_overlap
            AND NOT EXISTS (
                SELECT 1 FROM {assignment} m
                WHERE m.task_id = t.id AND m.annotator_id = %(annotator)s AND {_sql_live("m")}
            )
        ORDER BY {{order}}
        LIMIT 1"""
    spread = "(t.id + %(annotator)s) %% 104729 * 7919 %% 104729, t.id"
    mine = "a.annotator_id = %(annotator)s"
    counts = f"""
        SELECT
            COALESCE(SUM(CASE WHEN {_sql_live("a")} THEN 1 ELSE 0 END), 0),
            COALESCE(SUM(CASE WHEN {mine} THEN 1 ELSE 0 END), 0),
            COALESCE(SUM(CASE WHEN {mine} AND {_sql_live("a")} THEN 1 ELSE 0 END), 0)
        FROM {assignment} a WHERE a.task_id = %(task)s"""
    return candidates.format(order="live DESC, t.id"), candidates.format(order=spread), counts


def _params(annotator: User, now: datetime, **more: object) -> dict[str, object]:
    params: dict[str, object] = {f"settled{i}": status for i, status in enumerate(SETTLED)}
    params.update({f"leased{i}": status for i, status in enumerate(LEASED)})
    params.update(
        crowd=Source.CROWD,
        in_progress=Status.IN_PROGRESS,
        now=connection.ops.adapt_datetimefield_value(now),
        annotator=annotator.pk,
        no=False,
        **more,
    )
    return params


def _pick(
    annotator: User, project: Project, now: datetime, *, lock: bool = False, wait: bool = False
) -> Task | None:
    """The first candidate video (fullest first), or None. ``lock``: the row is locked; without
    ``wait`` rows other requests hold are skipped (SKIP LOCKED), with it the request waits for
    a candidate's row, taking the candidates in an order of the annotator's own."""
    sql = _sql()[1 if wait else 0]
    if lock:
        # NO KEY UPDATE: conflicts with itself (and resume's FOR UPDATE), not with rows that
        # merely refer to the task.
        sql += " FOR NO KEY UPDATE OF t" + ("" if wait else " SKIP LOCKED")
    task = next(iter(Task.objects.raw(sql, _params(annotator, now, project=project.pk))), None)
    if task is not None:
        task.project = project
    return task


def _try_take(task: Task, annotator: User, now: datetime) -> Assignment | None:
    """With the task's row locked: take a slot if one is free and the annotator has none. The
    counts are taken by a statement that starts after the lock was granted, so they include
    every slot taken before (and nobody can take one meanwhile)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql()[2], _params(annotator, now, task=task.pk))
        live, mine, mine_live = cursor.fetchone()
    if mine_live or live >= task.needed:
        return None
    return _start(task, annotator, now) if mine else _create(task, annotator, now)


def _take_slot(
    annotator: User, project: Project, now: datetime, careful: bool = True
) -> Assignment | None:
    """Take a free slot of a regular video: lock the fullest candidate no other request holds,
    count under the lock, take the slot. When every candidate is held by other requests, wait
    for one of their rows (no sleeping: PostgreSQL wakes the request when it is let go).

    A request holds its user row and at most one task row, and waits for a task row only while
    holding none, so requests cannot deadlock: a try that finds its video full lets the row go
    before the next. Tries that may wait run in a savepoint, which rolling back lets the row
    go. The first try, if it finds a row nobody holds, runs without one (it nearly always
    succeeds: the candidate query had just counted); should that video be full, it raises
    ``_Filled`` and the caller starts a new transaction with ``careful`` set."""
    if not connection.features.has_select_for_update_skip_locked:
        # SQLite: the transaction is serialized, so the candidate's counts are exact.
        task = _pick(annotator, project, now)
        return _try_take(task, annotator, now) if task is not None else None
    if not careful:
        task = _pick(annotator, project, now, lock=True)
        if task is not None:
            assignment = _try_take(task, annotator, now)
            if assignment is None:
                raise _Filled
            return assignment
    # Every candidate is held by other requests (or there is none): from here on each try
    # runs in a savepoint, and may wait.
    skip_first = not careful  # the query just ran
    for _ in range(MAX_TRIES):
        savepoint = transaction.savepoint()
        task = None if skip_first else _pick(annotator, project, now, lock=True)
        task = task or _pick(annotator, project, now, lock=True, wait=True)
        skip_first = False
        assignment = _try_take(task, annotator, now) if task is not None else None
        if assignment is not None or task is None:
            transaction.savepoint_commit(savepoint)
            return assignment
        # Filled meanwhile: let it go; the next candidate query sees the slot taken.
        transaction.savepoint_rollback(savepoint)
    logger.warning("next_task: no free slot after %d tries in project %s", MAX_TRIES, project.pk)
    return None


def work_available(annotator: User, project: Project, now: datetime | None = None) -> bool:
    """Whether ``next_task`` would find something for the annotator in ``project`` (a cheap
    check for the queue page; ``next_task`` decides for real)."""
    now = now or timezone.now()
    mine = Assignment.objects.filter(annotator=annotator, task__project=project)
    if mine.filter(status__in=LEASED, lease_expires_at__gt=now).exists():
        return True
    return _pick(annotator, project, now) is not None

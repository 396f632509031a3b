/**
 * Runs of the assisted tracker from the workspace: start one, follow its progress (a long run
 * is queued on the server and polled), cancel it, and hand its proposals to the editor.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage } from "../../api/errors";
import { cancelTracking, fetchTracking, startTracking, type TrackingRun } from "./api";
import type { Box } from "./model";
import type { Direction, ProposedBox } from "./tracking";

export interface RunningTrack {
  trackId: string;
  direction: Direction;
  start: number;
  count: number;
  progress: number;
  runId: number | null;
}

export interface TrackingOutcome {
  trackId: string;
  direction: Direction;
  start: number;
  boxes: ProposedBox[];
  status: string;
  lostAt: number | null;
  error: string;
}

const POLL_MS = 400;

export function useTracking(assignmentId: number, onDone: (outcome: TrackingOutcome) => void) {
  const [running, setRunning] = useState<RunningTrack | null>(null);
  const active = useRef<RunningTrack | null>(null);
  const alive = useRef(true);
  const done = useRef(onDone);
  useEffect(() => {
    done.current = onDone;
  });

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const finish = useCallback((base: RunningTrack, run: TrackingRun | null, error = "") => {
    active.current = null;
    if (!alive.current) return;
    setRunning(null);
    done.current({
      trackId: base.trackId,
      direction: base.direction,
      start: base.start,
      boxes: run ? run.boxes.map((b) => ({ frame: b.frame, x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 })) : [],
      status: run ? run.status : "failed",
      lostAt: run?.lost_at ?? null,
      error: error || run?.error || "",
    });
  }, []);

  const run = useCallback(
    async (trackId: string, frame: number, box: Box, direction: Direction, count: number) => {
      if (active.current) return;
      const base: RunningTrack = { trackId, direction, start: frame, count, progress: 0, runId: null };
      active.current = base;
      setRunning(base);
      try {
        let state = await startTracking({
          assignment: assignmentId,
          frame,
          box: [box.x0, box.y0, box.x1, box.y1],
          direction,
          count,
          method: "csrt",
        });
        base.runId = state.id;
        while (alive.current && (state.status === "queued" || state.status === "running")) {
          setRunning({ ...base, progress: state.progress });
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          state = await fetchTracking(state.id);
        }
        finish(base, state);
      } catch (error) {
        finish(base, null, errorMessage(error));
      }
    },
    [assignmentId, finish],
  );

  const cancel = useCallback(async () => {
    const current = active.current;
    if (!current || current.runId === null) return;
    try {
      await cancelTracking(current.runId);
    } catch {
      // The poll picks up whatever state the run ends in.
    }
  }, []);

  return { running, run, cancel };
}

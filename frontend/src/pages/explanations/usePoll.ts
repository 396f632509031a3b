import { useEffect, useRef } from "react";
import { getStatus, isPending, waitStatus, type ExplanationStatus } from "./api";

/** Call `tick` every `ms` while `active` (the latest `tick` is used; no overlapping calls). */
export function usePoll(active: boolean, ms: number, tick: () => Promise<unknown> | void): void {
  const latest = useRef(tick);
  useEffect(() => {
    latest.current = tick;
  });
  useEffect(() => {
    if (!active) return undefined;
    let stopped = false;
    let timer = 0;
    const loop = async () => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = window.setTimeout(loop, ms);
      }
    };
    timer = window.setTimeout(loop, ms);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [active, ms]);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      window.clearTimeout(timer);
      resolve();
    });
  });
}

type Known = Pick<ExplanationStatus, "id" | "status" | "progress">;

/**
 * The next state of explanation `known`: from the status long-poll (answered as soon as the
 * worker finishes, no 1 s polling), else, when the server offers no wait, from the status URL
 * after `pollMs` (which then stays the way for this follower: `state.polling`).
 */
async function nextStatus(
  known: Known,
  pollMs: number,
  signal: AbortSignal,
  state: { polling: boolean },
): Promise<ExplanationStatus> {
  if (!state.polling) {
    const next = await waitStatus(known, undefined, signal);
    if (next !== null) return next;
    state.polling = true;
  }
  await sleep(pollMs, signal);
  if (signal.aborted) throw new DOMException("The follower stopped.", "AbortError");
  return getStatus(known.id);
}

/**
 * Follow explanation `status` until it is done or failed: `onNext` gets every new state (the
 * progress of slow methods too). Long-polls the status; falls back to polling every `pollMs`.
 */
export function useStatusFollow(
  status: Known | null,
  pollMs: number,
  onNext: (next: ExplanationStatus) => void,
  onError: (error: unknown) => void,
): void {
  const handlers = useRef({ onNext, onError });
  useEffect(() => {
    handlers.current = { onNext, onError };
  });
  const id = status?.id ?? null;
  const pending = isPending(status?.status);
  const start = useRef(status);
  useEffect(() => {
    start.current = status; // runs before the effect below (declaration order)
  });
  useEffect(() => {
    if (id === null || !pending || start.current === null) return undefined;
    const controller = new AbortController();
    const state = { polling: false };
    let known: Known = start.current;
    const loop = async () => {
      while (!controller.signal.aborted) {
        try {
          const next = await nextStatus(known, pollMs, controller.signal, state);
          if (controller.signal.aborted) return;
          known = next;
          handlers.current.onNext(next);
          if (!isPending(next.status)) return;
        } catch (err) {
          if (controller.signal.aborted) return;
          handlers.current.onError(err);
          state.polling = true;
          await sleep(pollMs, controller.signal);
        }
      }
    };
    void loop();
    return () => controller.abort();
  }, [id, pending, pollMs]);
}

/**
 * Call `refresh` when one of the `pending` explanations changes state (long-poll on the first
 * of them; polling every `pollMs` where the server offers no wait).
 */
export function useRefreshWhenChanged(
  pending: Known[],
  pollMs: number,
  refresh: () => Promise<unknown> | void,
): void {
  const latest = useRef(refresh);
  useEffect(() => {
    latest.current = refresh;
  });
  const first = pending[0] ?? null;
  const key = first ? `${first.id}:${first.status}:${first.progress}` : "";
  const start = useRef(first);
  useEffect(() => {
    start.current = first;
  });
  useEffect(() => {
    if (!key || start.current === null) return undefined;
    const controller = new AbortController();
    const state = { polling: false };
    let known: Known = start.current;
    const loop = async () => {
      while (!controller.signal.aborted) {
        try {
          const next = await nextStatus(known, pollMs, controller.signal, state);
          if (controller.signal.aborted) return;
          const changed = next.status !== known.status || next.progress !== known.progress;
          known = next;
          // A refreshed list with other pending rows restarts this effect (and aborts here).
          if (changed || state.polling) await latest.current();
          if (!isPending(next.status)) return;
        } catch {
          if (controller.signal.aborted) return;
          state.polling = true;
          await sleep(pollMs, controller.signal);
        }
      }
    };
    void loop();
    return () => controller.abort();
  }, [key, pollMs]);
}

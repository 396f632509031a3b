/**
 * Saves the draft a moment after each change, one request at a time, and
 * says where it stands. A conflict (lease expired, saved from another
 * window) stops saving until the page is reloaded; other failures retry.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, errorMessage } from "../../api/errors";
import { resumeAssignment, saveDraft } from "./api";
import { toApi, type AnnotationDoc } from "./model";

export type SaveStatus = "saved" | "pending" | "saving" | "error" | "blocked";

export const AUTOSAVE_DELAY_MS = 700;
const RETRY_MS = 4000;

export interface Autosave {
  status: SaveStatus;
  message: string | null;
  savedAt: string | null;
  leaseUntil: string | null;
  /** Wait for a save in flight and cancel the pending one; resolves to the stored version. */
  settle: () => Promise<number>;
  /** Stop saving (after submitting). */
  stop: () => void;
}

export function useAutosave(
  assignmentId: number,
  initialVersion: number,
  doc: AnnotationDoc,
  enabled: boolean,
  initialLease: string | null,
): Autosave {
  const [status, setStatus] = useState<SaveStatus>("saved");
  const [message, setMessage] = useState<string | null>(null);
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const [leaseUntil, setLeaseUntil] = useState<string | null>(initialLease);
  const version = useRef(initialVersion);
  const latest = useRef(doc);
  const dirty = useRef(false);
  const stopped = useRef(!enabled);
  const inFlight = useRef<Promise<void> | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const first = useRef(true);
  const retry = useRef<() => void>(() => undefined);
  const triedResume = useRef(false);

  const flush = useCallback(async (): Promise<void> => {
    if (inFlight.current) await inFlight.current;
    if (!dirty.current || stopped.current) return;
    dirty.current = false;
    setStatus("saving");
    const request = saveDraft(assignmentId, { ...toApi(latest.current), version: version.current })
      .then((saved) => {
        triedResume.current = false;
        version.current = saved.version;
        setSavedAt(saved.draft_saved_at);
        setLeaseUntil(saved.lease_expires_at ?? null);
        setMessage(null);
        setStatus(dirty.current ? "pending" : "saved");
      })
      .catch(async (error: unknown) => {
        if (error instanceof ApiError && error.status === 409 && /lease/i.test(error.message) && !triedResume.current) {
          // The lease ran out (e.g. a long pause): take the task back if it is still free.
          triedResume.current = true;
          try {
            await resumeAssignment(assignmentId);
            dirty.current = true;
            timer.current = setTimeout(() => retry.current(), 0);
            return;
          } catch (resumeError) {
            error = resumeError;
          }
        }
        if (error instanceof ApiError && error.status === 409) {
          stopped.current = true;
          setStatus("blocked");
        } else {
          dirty.current = true;
          setStatus("error");
          if (!(error instanceof ApiError && error.status === 400)) {
            timer.current = setTimeout(() => retry.current(), RETRY_MS);
          }
        }
        setMessage(errorMessage(error));
      })
      .finally(() => {
        inFlight.current = null;
      });
    inFlight.current = request;
    await request;
  }, [assignmentId]);

  useEffect(() => {
    retry.current = () => void flush();
  }, [flush]);

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    latest.current = doc;
    if (stopped.current) return;
    dirty.current = true;
    setStatus("pending");
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => void flush(), AUTOSAVE_DELAY_MS);
  }, [doc, flush]);

  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      if (dirty.current && !stopped.current) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => {
      window.removeEventListener("beforeunload", warn);
      if (timer.current) clearTimeout(timer.current);
    };
  }, []);

  const settle = useCallback(async () => {
    if (timer.current) clearTimeout(timer.current);
    if (inFlight.current) await inFlight.current;
    return version.current;
  }, []);

  const stop = useCallback(() => {
    stopped.current = true;
    dirty.current = false;
    if (timer.current) clearTimeout(timer.current);
  }, []);

  return { status, message, savedAt, leaseUntil, settle, stop };
}

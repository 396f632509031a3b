import { useEffect, useRef } from "react";

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

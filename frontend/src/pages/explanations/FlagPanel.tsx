import { useEffect, useState, type FormEvent } from "react";
import { errorMessage } from "../../api/errors";
import { addFlag, listFlags, type Flag, type FlagBody } from "./api";
import { formatClock } from "./format";

const REASONS: { value: NonNullable<FlagBody["reason"]>; label: string }[] = [
  { value: "wrong_place", label: "Points at the wrong place" },
  { value: "wrong_time", label: "Points at the wrong time" },
  { value: "noisy", label: "Noisy or diffuse" },
  { value: "artifact", label: "Artifact (border, padding, constant)" },
  { value: "other", label: "Other" },
];

interface Props {
  explanationId: number;
  time: number;
}

/** Flags of one explanation and a form to add one (with a comment and the current time). */
export function FlagPanel({ explanationId, time }: Props) {
  const [flags, setFlags] = useState<Flag[]>([]);
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState<NonNullable<FlagBody["reason"]>>("wrong_place");
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    listFlags(explanationId)
      .then((got) => active && setFlags(got))
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, [explanationId]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      const flag = await addFlag(explanationId, { reason, comment, time });
      setFlags((previous) => [flag, ...previous]);
      setComment("");
      setOpen(false);
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <div className="flag-panel" data-testid="flag-panel">
      <button
        type="button"
        className="button button--ghost"
        aria-expanded={open}
        onClick={() => setOpen((v) => !v)}
        data-testid="flag-toggle"
      >
        Flag ({flags.length})
      </button>
      {open && (
        <form className="flag-panel__form" onSubmit={submit}>
          <div className="field">
            <label htmlFor={`flag-reason-${explanationId}`}>What is wrong</label>
            <select
              id={`flag-reason-${explanationId}`}
              value={reason}
              onChange={(e) => setReason(e.target.value as typeof reason)}
            >
              {REASONS.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`flag-comment-${explanationId}`}>Comment</label>
            <textarea
              id={`flag-comment-${explanationId}`}
              value={comment}
              rows={2}
              onChange={(e) => setComment(e.target.value)}
              data-testid="flag-comment"
            />
          </div>
          <button type="submit" className="button" data-testid="flag-submit">
            Flag at {formatClock(time)}
          </button>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
      {flags.length > 0 && (
        <ul className="flag-panel__list" data-testid="flag-list">
          {flags.map((f) => (
            <li key={f.id}>
              <strong>{REASONS.find((r) => r.value === f.reason)?.label ?? f.reason}</strong>
              {f.time != null && <> at {formatClock(f.time)}</>} — {f.author}
              {f.comment && <>: {f.comment}</>}
              {f.resolved && <span className="muted"> (resolved)</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

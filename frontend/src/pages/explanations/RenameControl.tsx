import { useEffect, useId, useRef, useState } from "react";
import { errorMessage } from "../../api/errors";
import { renameExplanation, type Explanation } from "./api";

export const NAME_MAX_LENGTH = 120;

/** What is wrong with a name before it is sent (null: nothing); the server checks again. */
export function nameProblem(name: string): string | null {
  const cleaned = name.trim().replace(/\s+/g, " ");
  if (cleaned.length > NAME_MAX_LENGTH) {
    return `Keep the name to ${NAME_MAX_LENGTH} characters or fewer (it has ${cleaned.length}).`;
  }
  return null;
}

/**
 * An explanation's name in the review player's list, renamed in place: "Rename" opens a text
 * field with the current name selected; Enter (or Save) saves, Escape (or Cancel) leaves it as
 * it was; a refused name keeps the field open with the reason under it. Focus goes back to the
 * "Rename" button when the field closes.
 */
export function RenameControl({
  explanation,
  title,
  onRenamed,
}: {
  explanation: Pick<Explanation, "id" | "name">;
  /** The name shown now (the given name or the automatic one). */
  title: string;
  onRenamed: (updated: Explanation) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  const ids = useId();

  useEffect(() => {
    if (editing) {
      input.current?.focus();
      input.current?.select();
    } else if (returnFocus.current) {
      returnFocus.current = false;
      opener.current?.focus();
    }
  }, [editing]);

  function open() {
    setDraft(explanation.name || title);
    setError(null);
    setEditing(true);
  }

  function close() {
    returnFocus.current = true;
    setEditing(false);
    setError(null);
  }

  async function save() {
    const problem = nameProblem(draft);
    if (problem) {
      setError(problem);
      input.current?.focus();
      return;
    }
    // Saving the name shown unchanged keeps whatever it was (given or automatic).
    if (draft.trim() === (explanation.name || title).trim()) {
      close();
      return;
    }
    setSaving(true);
    try {
      const updated = await renameExplanation(explanation.id, draft);
      onRenamed(updated);
      close();
    } catch (failure) {
      setError(errorMessage(failure));
      input.current?.focus();
    } finally {
      setSaving(false);
    }
  }

  if (!editing) {
    return (
      <button
        ref={opener}
        type="button"
        className="button button--ghost rename__open"
        onClick={open}
        aria-label={`Rename “${title}”`}
        data-testid={`rename-${explanation.id}`}
      >
        Rename
      </button>
    );
  }

  return (
    <form
      className="rename"
      data-testid={`rename-form-${explanation.id}`}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
      onKeyDown={(event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          close();
        }
      }}
    >
      <label className="visually-hidden" htmlFor={`${ids}-name`}>
        New name for “{title}”
      </label>
      <input
        ref={input}
        id={`${ids}-name`}
        className="rename__input"
        value={draft}
        maxLength={NAME_MAX_LENGTH + 40}
        onChange={(event) => {
          setDraft(event.target.value);
          if (error) setError(null);
        }}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${ids}-hint${error ? ` ${ids}-error` : ""}`}
        disabled={saving}
        data-testid="rename-input"
      />
      <button type="submit" className="button button--primary rename__button" disabled={saving}>
        {saving ? "Saving…" : "Save"}
      </button>
      <button type="button" className="button button--ghost rename__button" onClick={close} disabled={saving}>
        Cancel
      </button>
      <p id={`${ids}-hint`} className="rename__hint small muted">
        Enter saves, Escape cancels; leave it empty for the automatic name.
      </p>
      {error && (
        <p id={`${ids}-error`} className="rename__error" role="alert" data-testid="rename-error">
          {error}
        </p>
      )}
    </form>
  );
}

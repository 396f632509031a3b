/** The keyboard help: every binding of the workspace, grouped. */
import { useEffect, useRef } from "react";
import { KEYMAP, type KeyBinding } from "./keymap";

const GROUPS: KeyBinding["group"][] = ["Frames", "Boxes", "When", "Editing"];

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    closeRef.current?.focus();
  }, []);
  return (
    <div className="help-overlay" role="presentation" onClick={onClose}>
      <div
        className="help-overlay__panel card"
        role="dialog"
        aria-modal="true"
        aria-labelledby="help-title"
        data-testid="help-overlay"
        onClick={(event) => event.stopPropagation()}
      >
        <div className="card__header">
          <h2 id="help-title">Keyboard shortcuts</h2>
          <button ref={closeRef} type="button" className="button button--ghost" onClick={onClose}>
            Close
          </button>
        </div>
        <p className="muted small">
          Drag on the video to draw a box. Drag a box to move it, its corners or edges to resize it: the frame
          becomes a keyframe, and frames between keyframes follow in a straight line (dashed). Without a mouse:
          B draws a box in the middle, W A S D move the selected one and Shift+W A S D size it.
        </p>
        <div className="help-overlay__groups">
          {GROUPS.map((group) => (
            <section key={group}>
              <h3>{group}</h3>
              <dl>
                {KEYMAP.filter((b) => b.group === group).map((binding) => (
                  <div className="help-overlay__row" key={binding.action}>
                    <dt>
                      {binding.keys.map((key, i) => (
                        <span key={key}>
                          {i > 0 && "+"}
                          <kbd>{key}</kbd>
                        </span>
                      ))}
                    </dt>
                    <dd>{binding.description}</dd>
                  </div>
                ))}
              </dl>
            </section>
          ))}
        </div>
      </div>
    </div>
  );
}

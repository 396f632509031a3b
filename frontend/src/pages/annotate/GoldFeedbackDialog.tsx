/** Right after a gold item is submitted: how the boxes and segments compared with the known answer. */
import type { GoldFeedback } from "./api";

const percent = (value: number | null | undefined) => (value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`);

export function GoldFeedbackDialog({ feedback, onNext }: { feedback: GoldFeedback; onNext: () => void }) {
  return (
    <div className="help-overlay" role="dialog" aria-modal="true" aria-labelledby="gold-feedback-title" data-testid="gold-feedback">
      <div className="help-overlay__panel card gold-feedback">
        <h2 id="gold-feedback-title">{feedback.passed ? "Check item passed" : "Check item missed"}</h2>
        <p className="muted small">
          This video was a check item with a known answer. A box and segment overlap of {percent(feedback.pass_iou)} or more passes.
        </p>
        <dl className="gold-feedback__numbers">
          <div>
            <dt>Box overlap (IoU)</dt>
            <dd data-testid="gold-box-iou">{percent(feedback.box_iou)}</dd>
          </div>
          <div>
            <dt>Segment overlap (IoU)</dt>
            <dd data-testid="gold-segment-iou">{percent(feedback.segment_iou)}</dd>
          </div>
          <div>
            <dt>Boundary error</dt>
            <dd data-testid="gold-boundary">{feedback.boundary_error === null ? "–" : `${feedback.boundary_error.toFixed(2)} s`}</dd>
          </div>
          <div>
            <dt>Your accuracy on check items</dt>
            <dd data-testid="gold-running">
              {percent(feedback.running_accuracy)} ({feedback.gold_passed} of {feedback.gold_done})
            </dd>
          </div>
        </dl>
        <button type="button" className="button button--primary" onClick={onNext} autoFocus data-testid="gold-next">
          Next task
        </button>
      </div>
    </div>
  );
}

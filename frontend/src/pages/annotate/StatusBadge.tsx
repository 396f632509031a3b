import type { AssignmentStatus } from "./api";

const TEXT: Record<AssignmentStatus, string> = {
  in_progress: "In progress",
  submitted: "Submitted",
  accepted: "Accepted",
  rejected: "Sent back",
  expired: "Lease expired",
};

export function StatusBadge({ status }: { status: AssignmentStatus }) {
  return (
    <span className={`status-pill status-pill--${status}`} data-status={status}>
      {TEXT[status]}
    </span>
  );
}

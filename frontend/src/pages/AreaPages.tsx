import { useDocumentTitle } from "../components/useDocumentTitle";

interface EmptyAreaProps {
  title: string;
  message: string;
  hint?: string;
}

/** An area with nothing in it yet: says so plainly. */
function EmptyArea({ title, message, hint }: EmptyAreaProps) {
  useDocumentTitle(title);
  return (
    <section className="page">
      <h1>{title}</h1>
      <div className="empty-state" data-testid="empty-state">
        <p className="empty-state__message">{message}</p>
        {hint && <p className="muted">{hint}</p>}
      </div>
    </section>
  );
}

/** The Library area lives in pages/library/. */
export { LibraryArea as LibraryPage } from "./library/LibraryArea";

/** The Explanations area lives in pages/explanations/. */
export { ExplanationsArea as ExplanationsPage } from "./explanations/ExplanationsArea";

/** The Annotate area lives in pages/annotate/. */
export { AnnotateArea as AnnotatePage } from "./annotate/AnnotateArea";

/** The Leaderboard area lives in pages/leaderboard/. */
export { LeaderboardArea as LeaderboardPage } from "./leaderboard/LeaderboardArea";

/** The Meta-evaluation area lives in pages/metaeval/. */
export { MetaEvaluationArea as MetaEvaluationPage } from "./metaeval/MetaEvaluationArea";

/** The Studies area lives in pages/studies/. */
export { StudiesArea as StudiesPage } from "./studies/StudiesArea";

export function NotFoundPage() {
  return (
    <EmptyArea
      title="Page not found"
      message="There is no page at this address."
      hint="Use the navigation to find your way back."
    />
  );
}

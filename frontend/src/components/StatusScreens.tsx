export function LoadingScreen() {
  return (
    <div className="screen-center" role="status" aria-live="polite" data-testid="app-loading">
      <span className="spinner" aria-hidden="true" />
      <span>Loading WhereWhen…</span>
    </div>
  );
}

interface ServerUnavailableProps {
  message: string;
  onRetry: () => void;
}

export function ServerUnavailable({ message, onRetry }: ServerUnavailableProps) {
  return (
    <div className="screen-center">
      <div className="card card--narrow" data-testid="server-unavailable">
        <h1>WhereWhen is not reachable</h1>
        <p role="alert">{message}</p>
        <button type="button" className="button button--primary" onClick={onRetry}>
          Try again
        </button>
      </div>
    </div>
  );
}

import { Navigate, Route, Routes } from "react-router";
import { RequireArea } from "./auth/RequireArea";
import { RequireAuth } from "./auth/RequireAuth";
import { AppLayout } from "./components/AppLayout";
import {
  AnnotatePage,
  ExplanationsPage,
  LeaderboardPage,
  LibraryPage,
  MetaEvaluationPage,
  NotFoundPage,
  StudiesPage,
} from "./pages/AreaPages";
import { DashboardPage } from "./pages/DashboardPage";
import { LoginPage } from "./pages/LoginPage";
import { ParticipantPage } from "./pages/studies/ParticipantPage";

/** All client-side routes. Django serves index.html for each of these paths. */
export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      {/* Study participants are anonymous: no sign-in, no app navigation. */}
      <Route path="/p/:slug" element={<ParticipantPage />} />
      <Route element={<RequireAuth />}>
        <Route element={<AppLayout />}>
          <Route index element={<DashboardPage />} />
          <Route path="dashboard" element={<Navigate to="/" replace />} />
          <Route path="library/*" element={<RequireArea area="library"><LibraryPage /></RequireArea>} />
          <Route path="explanations/*" element={<RequireArea area="explanations"><ExplanationsPage /></RequireArea>} />
          <Route path="annotate/*" element={<RequireArea area="annotate"><AnnotatePage /></RequireArea>} />
          <Route path="studies/*" element={<RequireArea area="studies"><StudiesPage /></RequireArea>} />
          <Route path="leaderboard/*" element={<RequireArea area="leaderboard"><LeaderboardPage /></RequireArea>} />
          <Route path="meta-evaluation/*" element={<RequireArea area="meta"><MetaEvaluationPage /></RequireArea>} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Route>
    </Routes>
  );
}

import { Route, Routes } from "react-router";
import { LeaderboardPage } from "./LeaderboardPage";
import "./leaderboard.css";

/** The Leaderboard area: /leaderboard?project=&dataset=&model=&metric=. */
export function LeaderboardArea() {
  return (
    <Routes>
      <Route index element={<LeaderboardPage />} />
    </Routes>
  );
}

import { Route, Routes } from "react-router";
import { ExplanationsHome } from "./ExplanationsHome";
import { ReviewPage } from "./ReviewPage";
import "./explanations.css";

/** The Explanations area: /explanations and /explanations/review/:videoId?ids=1,2. */
export function ExplanationsArea() {
  return (
    <Routes>
      <Route index element={<ExplanationsHome />} />
      <Route path="review/:videoId" element={<ReviewPage />} />
    </Routes>
  );
}

import { Route, Routes } from "react-router";
import { MetaEvaluationPage } from "./MetaEvaluationPage";
import "./metaeval.css";

/** The Meta-evaluation area: /meta-evaluation?study=&project=&model=&level=&stat=&pair=. */
export function MetaEvaluationArea() {
  return (
    <Routes>
      <Route index element={<MetaEvaluationPage />} />
    </Routes>
  );
}

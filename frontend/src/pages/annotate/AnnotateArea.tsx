/** The Annotate area: routes under /annotate, by role. */
import { Route, Routes } from "react-router";
import { useCurrentUser } from "../../auth/AuthContext";
import { AnnotatorHome } from "./AnnotatorHome";
import { ProjectPage } from "./ProjectPage";
import { ProjectsPage } from "./ProjectsPage";
import { ReviewPage } from "./ReviewPage";
import { ReviewQueue } from "./ReviewQueue";
import { WorkspacePage } from "./Workspace";
import "./annotate.css";

export function AnnotateArea() {
  const user = useCurrentUser();
  const annotator = user.role === "annotator";
  const home = annotator ? <AnnotatorHome /> : user.role === "reviewer" ? <ReviewQueue /> : <ProjectsPage />;
  return (
    <Routes>
      <Route index element={home} />
      <Route path="assignments/:assignmentId" element={annotator ? <WorkspacePage /> : <ReviewPage />} />
      {!annotator && <Route path="review" element={<ReviewQueue />} />}
      {!annotator && <Route path="review/:assignmentId" element={<ReviewPage />} />}
      {!annotator && <Route path="projects/:projectId" element={<ProjectPage />} />}
      <Route path="*" element={home} />
    </Routes>
  );
}

import { Route, Routes } from "react-router";
import { LibraryListPage } from "./LibraryListPage";
import { VideoPage } from "./VideoPage";
import "./library.css";

/** The Library area: /library (list and upload) and /library/:videoId (one video). */
export function LibraryArea() {
  return (
    <Routes>
      <Route index element={<LibraryListPage />} />
      <Route path=":videoId" element={<VideoPage />} />
    </Routes>
  );
}

"""Import and export formats of crowd annotation, on plain data (no database).

================== ===========================================================================
module             what it holds
================== ===========================================================================
``records``        what the formats share: :class:`CvatMeta`, :class:`VideoRecord`,
                   :class:`ImportSummary`, :class:`ParsedCvat`, :class:`InvalidFile`, the rows
                   a record exports
``cvat_write``     CVAT for video 1.1 XML export (:func:`export_cvat_xml`)
``cvat_read``      CVAT for video 1.1 XML import (:func:`parse_cvat_xml`): reading the file,
                   refusing what cannot be represented
``cvat_keyframes`` the keyframes that give back every box an imported file lists
``coco``           COCO-style JSON export (:func:`export_coco`)
``csvfile``        CSV export (:func:`export_csv`)
================== ===========================================================================

CVAT for video 1.1 goes both ways, one file per annotation of one video; exporting an imported
file gives every box, label, flag and attribute back on every frame, and export -> import ->
export gives the same bytes. "When" segments travel as extra ``<time_segment>`` elements, which
CVAT ignores. COCO-style JSON and CSV are exports only: one box per frame per track (and per
consensus box) and one entry per segment, each with its own label.

Callers use this package's names (``formats.parse_cvat_xml``, ...), not its modules.
"""

from wherewhen.annotations.formats.coco import export_coco
from wherewhen.annotations.formats.csvfile import CSV_COLUMNS, export_csv
from wherewhen.annotations.formats.cvat_keyframes import ROUNDING
from wherewhen.annotations.formats.cvat_read import MAX_XML_BYTES, parse_cvat_xml
from wherewhen.annotations.formats.cvat_write import export_cvat_xml
from wherewhen.annotations.formats.records import (
    CVAT_VERSION,
    CvatMeta,
    ImportSummary,
    InvalidFile,
    ParsedCvat,
    VideoRecord,
)

__all__ = [
    "CSV_COLUMNS",
    "CVAT_VERSION",
    "MAX_XML_BYTES",
    "ROUNDING",
    "CvatMeta",
    "ImportSummary",
    "InvalidFile",
    "ParsedCvat",
    "VideoRecord",
    "export_coco",
    "export_csv",
    "export_cvat_xml",
    "parse_cvat_xml",
]

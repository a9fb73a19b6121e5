"""The papers' own ablation figures (%), copied from their tables, for reference beside our runs.

They are results on **VeRi-776 / VehicleID / VeRi-Wild** with the papers' networks, image
sizes and training schedules. Runs on the kit's synthetic data cannot be compared with them
number for number; only the direction of a difference between variants can be.

Each figure names the paper's table and row, the dataset, the metric (``mAP``, ``rank1``,
``rank5``) and, where one exists, the variant of our notebook's ablation table it corresponds
to. The MVAN text in ``shared/papers/mvan.txt`` lacks the cells of its Tables I–IV; what its
text states (a few values and differences between rows) is given, differences with
``kind="difference"`` and the row they are measured against in ``versus``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

DISCLAIMER = ("Paper figures are VeRi-776 / VehicleID results of the papers' own networks and "
              "schedules; runs on synthetic data cannot be compared with them directly, only "
              "the direction of a difference can.")


@dataclass(frozen=True)
class PaperFigure:
    paper: str
    source: str            # "Table 2" …
    dataset: str           # "VeRi-776", "VehicleID (large)" …
    row: str               # the paper's own name for the row
    notebook: str
    table: str             # our ablation table
    variant: str | None    # our variant name, None when ours has no such row
    metric: str            # mAP | rank1 | rank5
    value: float           # percent
    kind: str = "value"    # value | difference (value minus the ``versus`` row)
    versus: str | None = None
    note: str | None = None


def _rows(paper, source, dataset, notebook, table, metrics, rows, note=None):
    return tuple(PaperFigure(paper, source, dataset, row, notebook, table, variant, metric, value,
                             note=note)
                 for row, variant, values in rows for metric, value in zip(metrics, values))


_VGG16 = "light_vgg16 backbone; our notebook's variants follow the light_vgg_m rows"

FIGURES: tuple[PaperFigure, ...] = tuple(
    # SCAN (Teng et al.), Table 2: VeRi-776, Top-1 / Top-5 / mAP. No separate SAB / CAB rows.
    _rows("SCAN", "Table 2", "VeRi-776", "02_scan", "table2", ("rank1", "rank5", "mAP"), [
        ("light_vgg_m", "baseline", (76.02, 86.05, 38.94)),
        ("light_vgg_m+SCAN", "SCAN", (82.24, 90.76, 49.87)),
    ])
    + _rows("SCAN", "Table 2", "VeRi-776", "02_scan", "table2", ("rank1", "rank5", "mAP"), [
        ("light_vgg16", "baseline", (76.82, 86.71, 39.91)),
        ("light_vgg16+SCAN", "SCAN", (79.92, 88.32, 50.15)),
    ], note=_VGG16)
    # SCAN, Table 3: VehicleID (2,400 test ids, per its Table 1), Top-1 / Top-5.
    + _rows("SCAN", "Table 3", "VehicleID (large)", "02_scan", "table2", ("rank1", "rank5"), [
        ("light_vgg_m", "baseline", (44.14, 65.21)),
        ("light_vgg_m+SCAN", "SCAN", (55.73, 71.73)),
    ])
    + _rows("SCAN", "Table 3", "VehicleID (large)", "02_scan", "table2", ("rank1", "rank5"), [
        ("light_vgg16", "baseline", (60.63, 72.67)),
        ("light_vgg16+SCAN", "SCAN", (63.52, 77.53)),
        ("light_vgg16+SCAN* (SCAN and light_vgg16 features together)", None, (65.44, 78.47)),
    ], note=_VGG16)
    # MVAN: only what the text of Sect. IV-C states.
    + (
        PaperFigure("MVAN", "Table I", "VehicleID (large)", "Baseline-2", "03_mvan", "branches",
                    "Baseline-2", "rank1", 64.81, note="stated in Sect. IV-C1"),
        PaperFigure("MVAN", "Table I", "VehicleID (large)", "ours", "03_mvan", "branches",
                    "Multi-View", "rank1", 66.06,
                    note="Sect. IV-C1 calls it 'our 66.06%'; presumably the Multi-View row"),
        PaperFigure("MVAN", "Sect. IV-C1", "VehicleID (large)",
                    "Baseline-2 + bilinear pooling", "03_mvan", "branches", None, "rank1",
                    65.46, note="not in a table; stated in the text"),
        PaperFigure("MVAN", "Table I", "VeRi-776", "Multi-View", "03_mvan", "branches",
                    "Multi-View", "rank1", 0.51, kind="difference",
                    versus="Multi-View-Binary", note="stated in Sect. IV-C1"),
        PaperFigure("MVAN", "Table IV", "VehicleID (large)", "Multi-View-4+GLAM", "03_mvan",
                    "attention", "+GLAM", "rank1", 2.25, kind="difference",
                    versus="Multi-View", note="versus Multi-View-4; stated in Sect. IV-C4"),
        PaperFigure("MVAN", "Table IV", "VeRi-776", "Multi-View-4+GLAM", "03_mvan",
                    "attention", "+GLAM", "mAP", 5.22, kind="difference",
                    versus="Multi-View", note="versus Multi-View-4; stated in Sect. IV-C4"),
    )
    # SPAN + CPDM (Chen et al.), Table 1 (losses) and Table 2 (components): VeRi-776, R-1 / mAP.
    + _rows("SPAN", "Table 1", "VeRi-776", "04_span_cpdm", "losses", ("rank1", "mAP"), [
        ("Baseline (global feature, euclidean)", None, (92.0, 59.1)),
        ("only L_recon", "recon", (91.8, 58.9)),
        ("w/o L_area", "no_area", (92.1, 59.2)),
        ("w/o L_div", "no_div", (92.5, 59.7)),
        ("SPAN (Ours)", "full", (93.9, 68.6)),
    ], note="all rows but Baseline use CPDM")
    + _rows("SPAN", "Table 2", "VeRi-776", "04_span_cpdm", "aggregation", ("rank1", "mAP"), [
        ("Baseline (global feature, euclidean)", None, (92.0, 59.1)),
        ("SPAN w/ FC", "FC", (92.6, 60.3)),
        ("SPAN w/ Cat", "Cat+euclidean", (93.0, 63.1)),
        ("SPAN w/ CPDM (Ours)", "Cat+CPDM", (94.0, 68.9)),
    ])
    # ANet (Quispe et al.), Table 1.
    + _rows("ANet", "Table 1", "VeRi-776", "05_anet", "table1", ("mAP", "rank1"), [
        ("Baseline", "Baseline", (78.1, 96.1)),
        ("VAN (f)", "VAN(f)", (78.1, 96.6)),
        ("VAN (fa)", "VAN(fa)", (77.3, 96.5)),
        ("ANet (j) w/o AC", "ANet(j) w/o AC", (79.8, 96.9)),
        ("ANet (j)", "ANet(j)", (80.1, 96.9)),
    ])
    + _rows("ANet", "Table 1", "VehicleID (small)", "05_anet", "table1", ("rank1", "rank5"), [
        ("Baseline", "Baseline", (81.3, 94.4)),
        ("VAN (f)", "VAN(f)", (84.1, 96.5)),
        ("VAN (fa)", "VAN(fa)", (81.5, 95.0)),
        ("ANet (j) w/o AC", "ANet(j) w/o AC", (85.0, 96.7)),
        ("ANet (j)", "ANet(j)", (86.0, 97.4)),
    ])
    + _rows("ANet", "Table 1", "VehicleID (medium)", "05_anet", "table1", ("rank1", "rank5"), [
        ("Baseline", "Baseline", (77.7, 90.6)),
        ("VAN (f)", "VAN(f)", (80.4, 93.6)),
        ("VAN (fa)", "VAN(fa)", (78.5, 92.0)),
        ("ANet (j) w/o AC", "ANet(j) w/o AC", (80.9, 94.1)),
        ("ANet (j)", "ANet(j)", (81.9, 95.1)),
    ])
    + _rows("ANet", "Table 1", "VehicleID (large)", "05_anet", "table1", ("rank1", "rank5"), [
        ("Baseline", "Baseline", (75.8, 88.5)),
        ("VAN (f)", "VAN(f)", (78.4, 91.8)),
        ("VAN (fa)", "VAN(fa)", (76.3, 89.6)),
        ("ANet (j) w/o AC", "ANet(j) w/o AC", (79.0, 91.8)),
        ("ANet (j)", "ANet(j)", (79.6, 92.7)),
    ])
    + _rows("ANet", "Table 1", "VeRi-Wild (small)", "05_anet", "table1", ("mAP", "rank1"), [
        ("Baseline", "Baseline", (78.1, 94.6)),
        ("VAN (f)", "VAN(f)", (83.1, 94.5)),
        ("VAN (fa)", "VAN(fa)", (81.9, 94.1)),
        ("ANet (j) w/o AC", "ANet(j) w/o AC", (84.6, 96.1)),
        ("ANet (j)", "ANet(j)", (85.8, 95.9)),
    ])
    + _rows("ANet", "Table 1", "VeRi-Wild (medium)", "05_anet", "table1", ("mAP", "rank1"), [
        ("Baseline", "Baseline", (72.2, 92.5)),
        ("VAN (f)", "VAN(f)", (78.3, 93.5)),
        ("VAN (fa)", "VAN(fa)", (76.9, 93.1)),
        ("ANet (j) w/o AC", "ANet(j) w/o AC", (79.9, 94.4)),
        ("ANet (j)", "ANet(j)", (81.0, 94.5)),
    ])
    + _rows("ANet", "Table 1", "VeRi-Wild (large)", "05_anet", "table1", ("mAP", "rank1"), [
        ("Baseline", "Baseline", (64.0, 88.7)),
        ("VAN (f)", "VAN(f)", (70.6, 90.0)),
        ("VAN (fa)", "VAN(fa)", (69.2, 89.4)),
        ("ANet (j) w/o AC", "ANet(j) w/o AC", (72.9, 91.5)),
        ("ANet (j)", "ANet(j)", (73.9, 91.6)),
    ])
)


def paper_numbers(notebook: str | None = None, table: str | None = None,
                  metric: str | None = None):
    """The papers' figures as a DataFrame (one row per figure), optionally only those beside
    ``notebook``'s ablation ``table`` and of ``metric``. Values are percentages."""
    import pandas as pd

    rows = [asdict(f) for f in FIGURES
            if (notebook is None or f.notebook == notebook)
            and (table is None or f.table == table)
            and (metric is None or f.metric == metric)]
    return pd.DataFrame(rows, columns=list(PaperFigure.__dataclass_fields__))

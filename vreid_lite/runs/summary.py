"""``write_summary``: ``<runs>/summary.md``, the page a newcomer reads after ``make demo``
(what ran, whether it worked, how long it took, headline metrics, the ablations, the claims
table, links to the executed notebooks); ``export_explorer_html``: the executed ablation
explorer as a standalone HTML page beside it."""
from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from vreid_lite.paths import runs_home
from vreid_lite.runs.ablations import ablation_table, variant_summary
from vreid_lite.runs.claims import check_claims
from vreid_lite.runs.folder import write_text
from vreid_lite.runs.table import load_runs

EXPLORER = "06_ablation_explorer"
HTML_NAME = "ablation_explorer.html"
HEADLINE = ("mAP", "rank1", "rank5", "mINP")


def write_summary(runs_dir: str | os.PathLike | None = None) -> Path:
    """Write ``<runs_dir>/summary.md`` (atomically) from the run folders there; return it."""
    root = Path(runs_dir) if runs_dir is not None else runs_home()
    runs = load_runs(root)
    return write_text(root / "summary.md", summary_markdown(runs, root))


def summary_markdown(runs, root: Path) -> str:
    lines = ["# vreid_lite: summary of the runs", "",
             f"{len(runs)} run(s) in `{root.name}/`, written "
             f"{datetime.now().astimezone().isoformat(timespec='seconds')}.", ""]
    if (root / HTML_NAME).is_file():
        lines += [f"The executed ablation explorer, with its figures: [{HTML_NAME}]({HTML_NAME})",
                  ""]
    if runs.empty:
        return "\n".join(lines + ["No runs yet: `make demo` or `vreid run NOTEBOOK`.", ""])

    latest = runs.drop_duplicates("notebook", keep="last").sort_values("notebook")
    lines += ["## What ran (the latest run of each notebook)", ""]
    rows = []
    for _, r in latest.iterrows():
        info = _duration(r["folder"])
        rows.append([r["notebook"], _status(r["status"]), _seconds(info),
                     *[_pct(r.get(k)) for k in HEADLINE],
                     _plain(r.get("param.preset")), _plain(r.get("device")),
                     _notebook_link(Path(r["folder"]), root)])
    lines += _table(["notebook", "status", "wall time", *HEADLINE, "preset", "device",
                     "output"], rows)
    total = sum(filter(None, (_duration(f) for f in latest["folder"])))
    failed = latest[latest["status"] != "succeeded"]
    lines += ["", f"Wall time of these runs: {total / 60:.1f} min. "
              f"{len(latest) - len(failed)} of {len(latest)} succeeded.", ""]
    for _, r in failed.iterrows():
        name, error = Path(r["folder"]).name, Path(r["folder"]) / "error.txt"
        if error.is_file():
            first = (error.read_text(encoding="utf-8").strip().splitlines() or [""])[0]
            lines.append(f"- **{r['notebook']} {r['status']}**: {first} (`{name}/error.txt`)")
        else:
            lines.append(f"- **{r['notebook']} {r['status']}**: no error recorded; still "
                         f"running, or stopped before it could record one (`{name}/`)")
    if len(failed):
        lines.append("")

    long = ablation_table(runs[runs["status"] == "succeeded"])
    if not long.empty:
        lines += ["## Ablations (mean ± std over runs; values ×100)", ""]
        stats = variant_summary(long, group=["preset"])
        for (notebook, table), part in stats.groupby(["notebook", "table"], sort=False):
            metrics = [m for m in ("mAP", "rank1", "mask_iou") if m in set(part["metric"])]
            if not metrics:
                continue
            lines += [f"**{notebook}**, table `{table}`:", ""]
            cells = []
            for (variant, preset), v in part.groupby(["variant", "preset"], sort=False,
                                                     dropna=False):
                by = v.set_index("metric")
                cells.append([variant, _plain(preset), str(int(by["runs"].max())),
                              *[_mean_std(by, m) for m in metrics]])
            lines += _table(["variant", "preset", "runs", *metrics], cells) + [""]

    claims = check_claims(runs)
    lines += ["## Do the papers' claims hold here?", "",
              "Direction only: synthetic data, small networks, few seeds. A verdict needs "
              "several seeds of one setting; `vreid sweep NOTEBOOK --seeds 3` makes them.", ""]
    rows = [[c["paper"], c["claim"], _plain(c["preset"]), _plain(c["device"]),
             ", ".join(map(str, c["seeds"] or [])), _result(c), c["wins"], c["verdict"]]
            for _, c in claims.iterrows()]
    lines += _table(["paper", "claim", "preset", "device", "seeds", "result (×100)", "wins",
                     "verdict"], rows) + [""]
    older = len(runs) - len(latest)
    if older:
        lines += [f"{older} older run(s) are in the folder too; `load_runs()` lists them all.",
                  ""]
    return "\n".join(lines)


def export_explorer_html(runs_dir: str | os.PathLike | None = None) -> Path:
    """Export the latest executed ``06_ablation_explorer`` notebook in ``runs_dir`` to
    ``<runs_dir>/ablation_explorer.html``, its plotly figures included (plotly.js embedded
    once, so the page works offline)."""
    root = Path(runs_dir) if runs_dir is not None else runs_home()
    candidates = sorted(root.glob(f"*-{EXPLORER}*/{EXPLORER}.ipynb")) if root.is_dir() else []
    if not candidates:
        raise FileNotFoundError(f"no executed {EXPLORER} notebook in {root}; run "
                                f"`vreid run {EXPLORER}` first")
    return write_text(root / HTML_NAME, notebook_html(candidates[-1]))


def notebook_html(path: str | os.PathLike) -> str:
    """An executed notebook as one HTML page; plotly outputs, stored as plotly JSON only,
    are given an HTML rendering first."""
    import nbformat
    import plotly.io as pio
    from nbconvert import HTMLExporter

    nb = nbformat.read(os.fspath(path), as_version=4)
    first = True
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            spec = data.get("application/vnd.plotly.v1+json")
            if spec is None or "text/html" in data:
                continue
            fig = pio.from_json(_json_text(spec), skip_invalid=True)
            data["text/html"] = pio.to_html(fig, include_plotlyjs=first, full_html=False)
            first = False
    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def _json_text(spec: Any) -> str:
    import json

    return spec if isinstance(spec, str) else json.dumps(spec)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")
    return (["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
            + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows])


def _duration(folder: str | os.PathLike) -> float | None:
    import json

    path = Path(folder) / "run.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("duration_s")
    except (OSError, ValueError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _status(status: Any) -> str:
    return "✓ succeeded" if status == "succeeded" else f"✗ {status}"


def _plain(value: Any) -> str:
    """The value as text; empty for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _pct(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{100 * value:.1f}"
    return ""


def _mean_std(by, metric: str) -> str:
    if metric not in by.index:
        return ""
    return f"{100 * by.loc[metric, 'mean']:.1f} ± {100 * by.loc[metric, 'std']:.1f}"


def _result(claim) -> str:
    if claim["verdict"] == "no runs":
        return claim["note"] or ""
    return (f"{claim['winner']} {100 * claim['winner_mean']:.1f} ± "
            f"{100 * claim['winner_std']:.1f} vs {claim['loser_results']}")


def _notebook_link(folder: Path, root: Path) -> str:
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        return ""
    rel = notebooks[0].relative_to(root).as_posix() if notebooks[0].is_relative_to(root) \
        else notebooks[0].as_posix()
    return f"[{notebooks[0].name}]({rel})"

"""The papers' main ablation claims, and whether recorded runs bear them out.

A claim says that one variant of a notebook's ablation table (``winner``) scores higher on a
metric than each of some others (``losers``). A run supports it when the winner beats the
best of the losers in that run. Over runs of one setting (same notebook and parameters apart
from the seed) the verdict is ``holds`` (every run), ``does not hold`` (no run), ``mixed``
(some) or ``no runs``. Only the *direction* is checked: synthetic data and small networks
cannot reproduce the papers' VeRi-776 / VehicleID figures (see ``paper_numbers``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from vreid_lite.runs.ablations import ablation_table

NOT_SETTING = ("seed", "device", "run_dir")
"""Parameters that do not make a different experiment: runs differing only in these pool."""

VERDICTS = ("holds", "does not hold", "mixed", "no runs")


@dataclass(frozen=True)
class Claim:
    paper: str
    text: str
    notebook: str
    table: str
    metric: str
    winner: str
    losers: tuple[str, ...]


CLAIMS: tuple[Claim, ...] = (
    Claim("SCAN", "SCAN beats the baseline (Table 2: +10.9 mAP on VeRi-776)",
          "02_scan", "table2", "mAP", "SCAN", ("baseline",)),
    Claim("MVAN", "GLAM beats GAM and LAM alone (Table IV)",
          "03_mvan", "attention", "mAP", "+GLAM", ("+GAM", "+LAM")),
    Claim("SPAN", "the full SPAN loss gives the best part masks (Table 1, Fig. 6; the paper "
          "shows masks, we measure mask IoU against the synthetic ground truth)",
          "04_span_cpdm", "losses", "mask_iou", "full", ("recon", "no_area", "no_div")),
    Claim("SPAN", "the same, scored by pooled IoU, in which mask painted on views an image "
          "does not show counts against it", "04_span_cpdm", "losses", "pooled_mask_iou",
          "full", ("recon", "no_area", "no_div")),
    Claim("SPAN", "all three mask losses give better re-ID than L_recon alone (Table 1: 68.6 "
          "against 58.9 mAP)", "04_span_cpdm", "losses", "mAP", "full", ("recon",)),
    Claim("SPAN", "CPDM beats concatenation + euclidean distance, each trained with its own "
          "distance (Table 2)",
          "04_span_cpdm", "aggregation", "mAP", "Cat+CPDM", ("Cat+euclidean",)),
    Claim("ANet", "ANet(j) beats VAN(f) (Table 1)",
          "05_anet", "table1", "mAP", "ANet(j)", ("VAN(f)",)),
    Claim("ANet", "AC beats the same step 2 without AC (Table 1: ANet(j) over ANet(j) w/o AC, "
          "+0.3 mAP on VeRi-776, +1.2 on VeRi-Wild small)",
          "05_anet", "table1", "mAP", "ANet(j)", ("ANet(j) w/o AC",)),
)

COLUMNS = ["paper", "claim", "notebook", "table", "metric", "preset", "setting", "device",
           "seeds", "runs", "winner", "winner_mean", "winner_std", "losers", "loser_results",
           "margin_mean",
           "margin_std", "wins", "verdict", "note"]


def check_claims(runs, claims: tuple[Claim, ...] = CLAIMS):
    """One row per claim and setting in ``runs`` (a ``load_runs`` frame), or one ``no runs``
    row for a claim with no usable run. Only succeeded runs count; when a setting was run
    twice with one seed, the later run counts.

    Columns: the claim (``paper``, ``claim``, ``notebook``, ``table``, ``metric``), the
    setting (``preset``, ``setting``: the parameters, other than the preset, in which this
    group differs from the notebook's other groups), ``device``, ``seeds``, ``runs``,
    ``winner`` / ``winner_mean`` / ``winner_std``, ``losers`` (their names) and
    ``loser_results`` (each loser's mean ± std as text, values ×100), ``margin_mean`` /
    ``margin_std`` (winner minus the best loser, per run), ``wins`` (``"k/n"``), ``verdict``
    and ``note`` (why runs were left out).
    """
    import pandas as pd

    rows = []
    done = runs[runs["status"] == "succeeded"] if "status" in runs else runs.iloc[0:0]
    for claim in claims:
        mine = done[done["notebook"] == claim.notebook]
        groups = _settings(mine)
        long = ablation_table(mine) if not mine.empty else None
        claim_rows = []
        for setting, members in groups:
            row = _judge(claim, members, long, setting)
            if row is not None:
                claim_rows.append(row)
        if not claim_rows:
            note = (f"{len(mine)} succeeded run(s) of {claim.notebook}, none recording "
                    f"{_needed(claim)}" if len(mine) else f"no succeeded run of {claim.notebook}")
            claim_rows.append({**_claim_cells(claim), "runs": 0, "seeds": [],
                               "wins": "0/0", "verdict": "no runs", "note": note})
        rows.extend(claim_rows)
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=COLUMNS)


def _claim_cells(claim: Claim) -> dict[str, Any]:
    return {"paper": claim.paper, "claim": claim.text, "notebook": claim.notebook,
            "table": claim.table, "metric": claim.metric, "winner": claim.winner,
            "losers": ", ".join(claim.losers)}


def _needed(claim: Claim) -> str:
    return (f"ablations.{claim.table} {claim.metric} of " +
            ", ".join((claim.winner,) + claim.losers))


def _settings(runs) -> list[tuple[str, Any]]:
    """Runs grouped by their parameters other than ``NOT_SETTING``; each group labelled by
    the parameters (preset aside) whose values differ between groups."""
    if runs.empty:
        return []
    params = [c for c in runs.columns if c.startswith("param.")
              and c[len("param."):] not in NOT_SETTING]
    keys = [tuple((c, _canon(r[c])) for c in params if not _missing(r[c]))
            for _, r in runs.iterrows()]
    by_key: dict[tuple, list[int]] = {}
    for position, key in enumerate(keys):
        by_key.setdefault(key, []).append(position)
    varying = sorted({name for key in by_key for name, _ in key
                      if len({dict(k).get(name) for k in by_key}) > 1} - {"param.preset"})
    out = []
    for key, positions in by_key.items():
        values = dict(key)
        label = ", ".join(f"{n[len('param.'):]}={values.get(n, '(unset)')}" for n in varying)
        out.append((label, runs.iloc[positions]))
    return out


def _judge(claim: Claim, members, long, setting: str) -> dict[str, Any] | None:
    members = members.sort_values("time", kind="stable")
    latest = members.drop_duplicates(subset=["param.seed"] if "param.seed" in members else None,
                                     keep="last")
    values: dict[str, dict[str, float]] = {}
    needed = (claim.winner,) + claim.losers
    if long is not None and not long.empty:
        sel = long[(long["folder"].isin(latest["folder"])) & (long["table"] == claim.table)
                   & (long["metric"] == claim.metric) & (long["variant"].isin(needed))]
        for _, r in sel.iterrows():
            values.setdefault(r["folder"], {})[r["variant"]] = r["value"]
    usable = [f for f in latest["folder"] if set(needed) <= set(values.get(f, {}))]
    if not usable:
        return None
    used = latest[latest["folder"].isin(usable)]
    winner = [values[f][claim.winner] for f in usable]
    margins = [values[f][claim.winner] - max(values[f][v] for v in claim.losers) for f in usable]
    wins = sum(m > 0 for m in margins)
    n = len(usable)
    verdict = "holds" if wins == n else "does not hold" if wins == 0 else "mixed"
    left_out = len(latest) - n
    notes = []
    if left_out:
        notes.append(f"{left_out} run(s) without {_needed(claim)}")
    if len(members) > len(latest):
        notes.append(f"{len(members) - len(latest)} repeated seed run(s): the latest counts")
    return {
        **_claim_cells(claim),
        "preset": _single(used.get("param.preset")), "setting": setting,
        "device": _single(used.get("device")),
        "seeds": sorted({_plain(s) for s in used.get("param.seed", [])}, key=str),
        "runs": n,
        "winner_mean": _mean(winner), "winner_std": _std(winner),
        "loser_results": "; ".join(f"{v} {_pct([values[f][v] for f in usable])}"
                                   for v in claim.losers),
        "margin_mean": _mean(margins), "margin_std": _std(margins),
        "wins": f"{wins}/{n}", "verdict": verdict, "note": "; ".join(notes) or None,
    }


def _pct(xs: list[float]) -> str:
    return f"{100 * _mean(xs):.1f} ± {100 * _std(xs):.1f}"


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _std(xs: list[float]) -> float:
    """Sample standard deviation; 0 for a single value."""
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _single(series) -> Any:
    if series is None:
        return None
    values = sorted({str(v) for v in series if not _missing(v)})
    return values[0] if len(values) == 1 else ", ".join(values) or None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _canon(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(_plain(value), sort_keys=True)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value

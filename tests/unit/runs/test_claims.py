"""Ablation long table, claims and the papers' figures, on fake run folders."""
import json

import pytest

from vreid_lite.runs import load_runs
from vreid_lite.runs.ablations import ablation_table, variant_summary
from vreid_lite.runs.claims import CLAIMS, Claim, check_claims
from vreid_lite.runs.paper_numbers import FIGURES, paper_numbers

from ..run_fakes import ablation_metrics, make_run

SCAN = next(c for c in CLAIMS if c.paper == "SCAN")


def _scan_run(root, name, seed, scan, baseline, preset="quick", status="succeeded", **params):
    variants = {"baseline": {"mAP": baseline, "rank1": 0.5}, "+SAB": {"mAP": 0.3},
                "+CAB": {"mAP": 0.3}, "SCAN": {"mAP": scan, "rank1": 0.6}}
    return make_run(root, name, "02_scan", {"preset": preset, "seed": seed, **params},
                    ablation_metrics("table2", variants, mAP=scan, rank1=0.6),
                    status=status, started=f"2024-01-02T03:04:{int(name[-2:]):02d}+00:00")


def test_ablation_table_is_one_row_per_run_variant_metric(tmp_path):
    _scan_run(tmp_path, "r01", 0, 0.4, 0.3)
    make_run(tmp_path, "r02", "04_span_cpdm", {"preset": "quick", "seed": 1},
             ablation_metrics("losses", {"full": {"mask_iou": 0.7, "iou": {"front": 0.8},
                                                  "cmc": [0.1, 0.2], "note": "x"},
                                         "v1.5": 0.25}))
    make_run(tmp_path, "r03", "01_baseline", {"seed": 0}, {"mAP": 0.2})
    long = ablation_table(load_runs(tmp_path))
    scan = long[long["notebook"] == "02_scan"]
    assert len(scan) == 6 and set(scan["variant"]) == {"baseline", "+SAB", "+CAB", "SCAN"}
    span = long[long["notebook"] == "04_span_cpdm"].set_index(["variant", "metric"])["value"]
    assert span.to_dict() == {("full", "mask_iou"): 0.7, ("full", "iou/front"): 0.8,
                              ("v1.5", "value"): 0.25}
    assert set(long["seed"]) == {0, 1} and set(long["preset"]) == {"quick"}


def test_ablation_table_names_a_malformed_table(tmp_path):
    make_run(tmp_path, "r01", "02_scan", {"seed": 0}, {"ablations": {"table2": [1, 2]}})
    with pytest.raises(ValueError, match=r"metrics.json: ablation table 'table2'"):
        ablation_table(load_runs(tmp_path))


def test_variant_summary_means_and_spreads_in_recorded_order(tmp_path):
    _scan_run(tmp_path, "r01", 0, 0.40, 0.30)
    _scan_run(tmp_path, "r02", 1, 0.50, 0.20)
    stats = variant_summary(ablation_table(load_runs(tmp_path)))
    m = stats[stats["metric"] == "mAP"]
    assert list(m["variant"]) == ["baseline", "+SAB", "+CAB", "SCAN"]
    row = m[m["variant"] == "SCAN"].iloc[0]
    assert row["mean"] == pytest.approx(0.45) and row["std"] == pytest.approx(0.0707107, 1e-5)
    assert row["runs"] == 2 and row["seeds"] == [0, 1]


def test_claim_holds_when_every_seed_agrees(tmp_path):
    for i, (scan, base) in enumerate([(0.4, 0.3), (0.5, 0.2), (0.45, 0.44)]):
        _scan_run(tmp_path, f"r{i:02d}", i, scan, base)
    claims = check_claims(load_runs(tmp_path))
    row = claims[claims["notebook"] == "02_scan"].iloc[0]
    assert row["verdict"] == "holds" and row["wins"] == "3/3" and row["seeds"] == [0, 1, 2]
    assert row["winner_mean"] == pytest.approx(0.45)
    assert row["margin_mean"] == pytest.approx((0.1 + 0.3 + 0.01) / 3)
    assert row["preset"] == "quick" and row["device"] == "cpu (x86_64)"
    assert row["loser_results"] == "baseline 31.3 ± 12.1"


def test_claim_mixed_and_not_holding(tmp_path):
    _scan_run(tmp_path, "r00", 0, 0.4, 0.3)
    _scan_run(tmp_path, "r01", 1, 0.2, 0.3)
    row = check_claims(load_runs(tmp_path), (SCAN,)).iloc[0]
    assert (row["verdict"], row["wins"]) == ("mixed", "1/2")
    _scan_run(tmp_path, "r02", 0, 0.1, 0.3)  # seed 0 again, later: it replaces r00
    row = check_claims(load_runs(tmp_path), (SCAN,)).iloc[0]
    assert (row["verdict"], row["wins"]) == ("does not hold", "0/2")
    assert "repeated seed" in row["note"]


def test_glam_must_beat_both_gam_and_lam(tmp_path):
    mvan = next(c for c in CLAIMS if c.paper == "MVAN")
    make_run(tmp_path, "r00", "03_mvan", {"preset": "quick", "seed": 0}, ablation_metrics(
        "attention", {"Multi-View": {"mAP": 0.1}, "+GAM": {"mAP": 0.2}, "+LAM": {"mAP": 0.5},
                      "+GLAM": {"mAP": 0.4}}))
    row = check_claims(load_runs(tmp_path), (mvan,)).iloc[0]
    assert row["verdict"] == "does not hold"
    assert row["margin_mean"] == pytest.approx(-0.1)


def test_settings_are_not_pooled_and_failed_runs_do_not_count(tmp_path):
    _scan_run(tmp_path, "r00", 0, 0.4, 0.3)
    _scan_run(tmp_path, "r01", 0, 0.2, 0.3, preset="standard")
    _scan_run(tmp_path, "r02", 1, 0.2, 0.3, epochs=3)
    _scan_run(tmp_path, "r03", 2, 0.1, 0.3, status="failed")
    rows = check_claims(load_runs(tmp_path), (SCAN,))
    assert len(rows) == 3
    by = {(r["preset"], r["setting"]): r["verdict"] for _, r in rows.iterrows()}
    assert by == {("quick", "epochs=(unset)"): "holds",
                  ("standard", "epochs=(unset)"): "does not hold",
                  ("quick", "epochs=3"): "does not hold"}
    assert all(r == 1 for r in rows["runs"])


def test_no_runs_and_runs_without_the_table(tmp_path):
    make_run(tmp_path, "r00", "02_scan", {"preset": "quick", "seed": 0, "ablation": False},
             {"mAP": 0.3})
    claims = check_claims(load_runs(tmp_path))
    assert len(claims) == len(CLAIMS) and set(claims["verdict"]) == {"no runs"}
    scan = claims[claims["notebook"] == "02_scan"].iloc[0]
    assert "1 succeeded run(s) of 02_scan, none recording ablations.table2 mAP" in scan["note"]
    assert "no succeeded run of 05_anet" in claims[claims["notebook"] == "05_anet"].iloc[0]["note"]
    empty = check_claims(load_runs(tmp_path / "r00").iloc[0:0])
    assert list(empty["verdict"]) == ["no runs"] * len(CLAIMS)


def test_a_run_missing_a_loser_is_left_out_and_said(tmp_path):
    _scan_run(tmp_path, "r00", 0, 0.4, 0.3)
    make_run(tmp_path, "r01", "02_scan", {"preset": "quick", "seed": 1},
             ablation_metrics("table2", {"SCAN": {"mAP": 0.4}}))
    row = check_claims(load_runs(tmp_path), (SCAN,)).iloc[0]
    assert row["runs"] == 1 and "1 run(s) without" in row["note"]


def test_custom_claim_on_another_metric(tmp_path):
    span = Claim("SPAN", "full gives the best masks", "04_span_cpdm", "losses", "mask_iou",
                 "full", ("recon", "no_div"))
    for seed, full in enumerate([0.7, 0.8]):
        make_run(tmp_path, f"r{seed:02d}", "04_span_cpdm", {"preset": "quick", "seed": seed},
                 ablation_metrics("losses", {"recon": {"mask_iou": 0.5, "mAP": 0.9},
                                             "no_div": {"mask_iou": 0.6},
                                             "full": {"mask_iou": full}}))
    row = check_claims(load_runs(tmp_path), (span,)).iloc[0]
    assert row["verdict"] == "holds" and row["margin_mean"] == pytest.approx(0.15)


def test_claims_name_existing_paper_variants():
    """Each claim's variants are the ones the papers' figures map onto our tables."""
    mapped = {(f.notebook, f.table, f.variant) for f in FIGURES if f.variant}
    for claim in CLAIMS:
        if claim.metric == "mask_iou":
            continue  # the paper reports no mask metric
        for variant in (claim.winner,) + claim.losers:
            if claim.paper != "MVAN" or variant == "+GLAM":
                assert (claim.notebook, claim.table, variant) in mapped, (claim, variant)


def test_paper_numbers_are_the_papers_figures():
    scan = paper_numbers("02_scan", "table2", "mAP")
    veri = scan[scan["dataset"] == "VeRi-776"].set_index("row")["value"].to_dict()
    assert veri == {"light_vgg_m": 38.94, "light_vgg_m+SCAN": 49.87, "light_vgg16": 39.91,
                    "light_vgg16+SCAN": 50.15}
    span = paper_numbers("04_span_cpdm", "aggregation", "mAP").set_index("row")["value"]
    assert span["SPAN w/ CPDM (Ours)"] == 68.9 and span["SPAN w/ Cat"] == 63.1
    anet = paper_numbers("05_anet", "table1")
    large = anet[(anet["dataset"] == "VehicleID (large)") & (anet["metric"] == "rank1")]
    assert large.set_index("variant")["value"].to_dict() == {
        "Baseline": 75.8, "VAN(f)": 78.4, "VAN(fa)": 76.3, "ANet(j) w/o AC": 79.0,
        "ANet(j)": 79.6}
    mvan = paper_numbers("03_mvan", "attention")
    assert set(mvan["kind"]) == {"difference"} and set(mvan["versus"]) == {"Multi-View"}
    assert all(d.startswith(("VeRi-776", "VehicleID", "VeRi-Wild"))
               for d in paper_numbers()["dataset"])
    json.dumps(paper_numbers().to_dict("records"))  # plain values only

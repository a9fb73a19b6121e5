"""What the claims table reads is what the paper notebooks write: a short papermill run of each
paper notebook gives every one of its claims a verdict (never "no runs")."""
import pytest

from vreid_lite.runs import load_runs, run_notebook
from vreid_lite.runs.claims import CLAIMS, check_claims

SHORT = {  # one epoch per stage: the keys, not the numbers, are under test
    "02_scan": {"epochs": 1},
    "03_mvan": {"epochs": 1, "vnet_epochs": 1, "ablation_epochs": 1},
    "04_span_cpdm": {"epochs": 1, "mask_epochs": 1},
    "05_anet": {"epochs": 1, "ablation_epochs": 1, "ac_epochs": 1},
}


def test_every_claim_has_a_short_run_here():
    assert {c.notebook for c in CLAIMS} == set(SHORT)


@pytest.mark.parametrize("stem", sorted(SHORT))
def test_a_short_run_records_what_each_claim_reads(stem, tmp_path):
    folder, ok = run_notebook(stem, SHORT[stem], runs_dir=tmp_path, progress=False)
    assert ok, (folder / "error.txt").read_text()
    claims = check_claims(load_runs(tmp_path))
    mine = claims[claims["notebook"] == stem]
    assert len(mine) == sum(c.notebook == stem for c in CLAIMS)
    missing = mine[mine["verdict"] == "no runs"]
    assert missing.empty, missing[["claim", "note"]].to_string()

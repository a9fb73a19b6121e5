"""`vreid evaluate`'s re-ranking and query-expansion flags reach evaluate() as checked options."""
import pytest

from vreid_lite.cli import _evaluate_options, build_parser


def options(*argv):
    return _evaluate_options(build_parser().parse_args(["evaluate", "runs/x", *argv]))


def test_no_flags_leave_evaluate_at_its_defaults():
    assert options() == {}
    assert options("--distance", "cosine") == {"distance": "cosine"}


def test_rerank_and_qe_flags_become_options():
    found = options("--rerank", "--k1", "10", "--lambda", "0.5", "--qe", "--qe-k", "3")
    assert found["rerank"]["k1"] == 10 and found["rerank"]["k2"] == 6
    assert found["rerank"]["lambda_value"] == 0.5
    assert found["query_expansion"]["top_k"] == 3 and found["query_expansion"]["alpha"] == 3.0


def test_bad_values_are_refused():
    with pytest.raises(ValueError):
        options("--rerank", "--k1", "0")
    with pytest.raises(ValueError):
        options("--qe", "--qe-k", "0")

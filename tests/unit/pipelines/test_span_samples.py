"""Notebook 04's sample of test images: the first images of each viewpoint."""
from vreid_lite.data.records import VIEWS, Record
from vreid_lite.pipelines.span import first_of_each_view


def record(name, view):
    return Record(path=f"/x/{name}.jpg", pid=1, camid=1, view=view)


def test_first_of_each_view_goes_view_by_view_in_the_records_order():
    records = [record(f"{v}{i}", v) for i in range(4) for v in reversed(VIEWS)]
    sample = first_of_each_view(records, per_view=2)
    assert [r.view for r in sample] == [v for v in VIEWS for _ in range(2)]
    assert [r.path for r in sample[:2]] == ["/x/front0.jpg", "/x/front1.jpg"]


def test_without_viewpoints_the_first_records_are_taken():
    records = [record(f"n{i}", None) for i in range(30)]
    assert first_of_each_view(records, per_view=2) == records[:2 * len(VIEWS)]

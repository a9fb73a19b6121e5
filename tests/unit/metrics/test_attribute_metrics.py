"""Attribute accuracy per attribute, images without a label left out."""
from __future__ import annotations

import pytest
import torch

from vreid_lite.data.records import Record
from vreid_lite.metrics import (attribute_accuracies, attribute_accuracy, attribute_confusion,
                                attribute_labels)


def one_hot_logits(predicted, classes=3):
    return torch.nn.functional.one_hot(torch.tensor(predicted), classes).float()


def test_accuracy_counts_labelled_images_only():
    logits = one_hot_logits([0, 1, 2, 2, 1])
    labels = torch.tensor([0, 2, 2, -1, -1])  # 2 of the 3 labelled images are right
    result = attribute_accuracy(logits, labels)
    assert result == {"accuracy": pytest.approx(2 / 3), "labelled": 3, "missing": 2,
                      "correct": 2}


def test_accuracy_without_any_label_is_none():
    result = attribute_accuracy(one_hot_logits([0, 1]), torch.tensor([-1, -1]))
    assert result["accuracy"] is None and result["labelled"] == 0 and result["missing"] == 2


def test_accuracies_per_attribute_name_the_keys():
    logits = {"color": one_hot_logits([0, 1, 1]), "type": one_hot_logits([2, 2, 0])}
    labels = {"color": torch.tensor([0, 1, 0]), "type": torch.tensor([2, -1, 1])}
    out = attribute_accuracies(logits, labels)
    assert out == {"color_acc": pytest.approx(2 / 3), "color_labelled": 3,
                   "type_acc": pytest.approx(1 / 2), "type_labelled": 2}


def test_confusion_rows_are_true_classes():
    confusion = attribute_confusion(one_hot_logits([0, 1, 1, 2]), torch.tensor([0, 0, 1, -1]))
    assert confusion.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]


def test_labels_from_records_mark_missing_values():
    records = [Record("a.jpg", 1, 1, color=3, vtype=None), Record("b.jpg", 2, 1, color=None,
                                                                  vtype=0)]
    assert attribute_labels(records, "color").tolist() == [3, -1]
    assert attribute_labels(records, "vtype").tolist() == [-1, 0]
    with pytest.raises(ValueError, match="'type'"):
        attribute_labels(records, "type")


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="color: image 1 has label 5"):
        attribute_accuracy(one_hot_logits([0, 1]), torch.tensor([0, 5]), "color")
    with pytest.raises(ValueError, match="expected logits N×classes and labels N"):
        attribute_accuracy(one_hot_logits([0, 1]), torch.tensor([0, 1, 1]))
    with pytest.raises(KeyError, match="no labels for attribute\\(s\\) \\['type'\\]"):
        attribute_accuracies({"type": one_hot_logits([0])}, {"color": torch.tensor([0])})

"""Scores beside baselines, and the column encodings, checked by hand and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)

from deltaprop.data import Table, TableEncoder, TargetEncoder
from deltaprop.metrics import classification_scores, confusion_lines, describe, regression_scores


def test_classification_scores_by_hand() -> None:
    # labels 0 1 1 2, predicted 0 1 2 2: three of four right. F1 per class: class 0
    # 2·1/(2·1+0+0) = 1, class 1 2·1/(2+0+1) = 2/3, class 2 2·1/(2+1+0) = 2/3: mean 7/9.
    s = classification_scores(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3, baseline=1)
    assert s["accuracy"] == 0.75 and s["macro_f1"] == pytest.approx(7 / 9)
    assert s["confusion"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    # always class 1: half right; F1 of class 1 is 2·2/(2·2+2+0) = 2/3, the others 0.
    assert s["baseline_accuracy"] == 0.5 and s["baseline_macro_f1"] == pytest.approx(2 / 9)


def test_classification_scores_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    s = classification_scores(y, p, 4, baseline=2)
    assert s["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert s["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert s["confusion"] == confusion_matrix(y, p).tolist()


def test_regression_scores_match_scikit_learn_and_the_baseline_is_the_mean() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(5, 2, 100)
    p = y + rng.normal(0, 0.5, 100)
    s = regression_scores(y, p, baseline=np.array([4.0]))
    assert s["rmse"] == pytest.approx(mean_squared_error(y, p) ** 0.5)
    assert s["mae"] == pytest.approx(mean_absolute_error(y, p))
    assert s["r2"] == pytest.approx(r2_score(y, p))
    assert s["baseline_r2"] == pytest.approx(r2_score(y, np.full(100, 4.0)))
    text = describe({**s, "loss": 0.5})
    assert text.startswith("RMSE") and "baseline, training mean" in text and "J = 0.5" in text


def test_confusion_lines_are_aligned() -> None:
    lines = confusion_lines([[5, 0], [1, 12]], ["cat", "otter"])
    assert lines[1].split() == ["cat", "otter"] and lines[3].split() == ["otter", "1", "12"]
    assert len({len(line) for line in lines[1:]}) == 1


def _table(**columns: list) -> Table:
    names = tuple(columns)
    return Table("t.csv", names, tuple(np.array(v, dtype=object) for v in columns.values()))


def test_median_imputation_indicator_and_one_hot_by_hand() -> None:
    table = _table(
        x=["1", "3", None, "10"],  # median of 1, 3, 10 is 3
        colour=["red", None, "blue", "red"],  # levels blue, red, (missing)
        when=["1970-01-02", "1970-03-01", "1971-01-01", "1970-01-01"],
    )
    enc = TableEncoder.fit(table, standardize=False)
    assert enc.feature_names == (
        "x",
        "x (missing)",
        "colour=blue",
        "colour=red",
        "colour=(missing)",
        "when (days since 1970-01-01)",
        "when (month)",
    )
    X = enc.transform(table).X
    np.testing.assert_array_equal(X[:, 0], [1, 3, 3, 10])
    np.testing.assert_array_equal(X[:, 1], [0, 0, 1, 0])
    np.testing.assert_array_equal(X[:, 2:5], [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(X[:, 5], [1, 59, 365, 0])
    np.testing.assert_array_equal(X[:, 6], [1, 3, 1, 1])
    again = TableEncoder.from_dict(enc.to_dict(), "here")
    np.testing.assert_array_equal(again.transform(table).X, X)


def test_standardised_features_have_training_mean_zero() -> None:
    table = _table(x=[str(v) for v in range(10)], g=["a", "b"] * 5)
    X = TableEncoder.fit(table).transform(table).X
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0)


def test_target_task_inference_and_units() -> None:
    assert TargetEncoder.fit("y", np.array(["a", "b", "a"]), np.arange(3)).reason == "text labels"
    few = TargetEncoder.fit("y", np.array([1.0, 2.0, 3.0, 1.0]), np.arange(4))
    assert few.task == "classification" and few.classes == ("1", "2", "3")
    many = TargetEncoder.fit("y", np.arange(50.0), np.arange(50))
    assert many.task == "regression" and many.reason == "50 distinct whole numbers"
    Y = many.encode(np.arange(50.0))
    assert Y.mean() == pytest.approx(0.0) and many.decode(Y)[:, 0] == pytest.approx(np.arange(50))

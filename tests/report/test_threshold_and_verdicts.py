import numpy as np

from divlab.report.threshold import fit_threshold
from divlab.report.verdicts import check_e1, check_e5


def test_logistic_fit_recovers_a_known_threshold():
    counts = np.array([10, 20, 50, 100, 200, 300, 400, 500, 600, 1000, 2000, 5000, 10000])
    accuracy = 1 / (1 + np.exp(-(np.log10(counts) - np.log10(400)) / 0.08))
    fit = fit_threshold(counts, accuracy, bootstrap=100)
    assert abs(np.log10(fit["threshold"]) - np.log10(400)) < 0.02
    assert fit["low"] <= fit["threshold"] <= fit["high"]
    assert 250 < fit["low"] and fit["high"] < 650


def test_no_threshold_when_accuracy_never_crosses_one_half():
    assert fit_threshold([10, 100, 1000], [0.0, 0.1, 0.2]) is None


def _row(point, unseen, seen=None, has_op=None, no_op=None):
    result = {"unseen": {"accuracy": unseen, "has_op_accuracy": has_op, "no_op_accuracy": no_op},
              "seen": {"accuracy": seen if seen is not None else unseen}}
    return {"point": point, "result": result}


def test_e1_verdict_reads_the_numbers():
    step = [_row({"dataset.num_train_rules": i}, a) for i, a in [(4, 0.0), (64, 0.05), (512, 0.95), (2048, 0.97)]]
    verdict = check_e1(step)
    assert verdict.status == "shown" and "0.00 at I = 4" in verdict.reason and "0.97 at I = 2,048" in verdict.reason
    flat = [_row({"dataset.num_train_rules": i}, a) for i, a in [(4, 0.0), (64, 0.3), (2048, 0.85)]]
    verdict = check_e1(flat)
    assert verdict.status == "not shown" and "0.85" in verdict.reason
    assert check_e1(flat[:2]).status == "not enough data"


def test_e5_verdict_compares_mixture_with_single_counts():
    rows = [_row({"occurrences": o, "dataset.num_train_rules": i}, a)
            for o, i, a in [("1", 256, 0.2), ("mixed", 256, 0.4), ("1", 2048, 0.5), ("mixed", 2048, 0.8)]]
    assert check_e5(rows).status == "shown"
    rows[1]["result"]["unseen"]["accuracy"] = 0.1
    assert check_e5(rows).status == "not shown"
    assert check_e5([r for r in rows if r["point"]["occurrences"] == "1"]).status == "not enough data"

"""The peer in the linkage benchmark: Splink (Fellegi-Sunter, DuckDB backend), trained
the way its documentation trains a model, on the same flat file and the same fields as
our matcher, and both scored against the mock's truth by one function.

Usage:
  linkage_peer.py splink  PEOPLE.csv PAIRS_OUT.csv          # Splink's scored pairs
  linkage_peer.py score   PEOPLE.csv PAIRS.csv LABEL [--decided] # precision/recall/F1 as JSON

PEOPLE.csv: unique_id, name_km, name_latin, birth_date (YYYY-MM-DD, 01-01 for year-only),
sex, facility, commune, officer_id, national_id, truth (the person the record really is).
PAIRS.csv: unique_id_l, unique_id_r, match_weight[, decision] (decision: link|review|distinct).
"""

import csv
import json
import sys
from itertools import combinations


def read_people(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def splink_pairs(people_csv, out_csv):
    import pandas as pd
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = pd.read_csv(people_csv, dtype=str, keep_default_na=False).replace({"": None})
    df = df.drop(columns=["truth"])
    df["birth_year"] = df["birth_date"].str.slice(0, 4)
    df["district"] = df["commune"].str.slice(0, 4)
    db_api = DuckDBAPI()
    sdf = db_api.register(df, dataset_display_name="people")

    place = cl.CustomComparison(
        output_column_name="place",
        comparison_levels=[
            cll.NullLevel("commune"),
            cll.ExactMatchLevel("facility"),
            cll.ExactMatchLevel("commune"),
            cll.ExactMatchLevel("district"),
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("officer_id"),
            block_on("national_id"),
            block_on("name_km", "birth_year"),
            block_on("name_latin", "birth_year"),
            block_on("name_km", "district"),
            block_on("birth_date", "district"),
        ],
        comparisons=[
            cl.JaroWinklerAtThresholds("name_km", [0.95, 0.88]).configure(
                term_frequency_adjustments=True
            ),
            cl.JaroWinklerAtThresholds("name_latin", [0.95, 0.88]),
            cl.DateOfBirthComparison(
                "birth_date",
                input_is_string=True,
                datetime_metrics=["year"],
                datetime_thresholds=[1],
            ),
            cl.ExactMatch("sex"),
            place,
            cl.DamerauLevenshteinAtThresholds("officer_id", [1]),
            cl.DamerauLevenshteinAtThresholds("national_id", [1]),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(sdf, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("officer_id"), block_on("national_id")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=20261202)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("officer_id"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_km", "birth_year")
    )
    preds = linker.inference.predict(threshold_match_probability=0.001).as_pandas_dataframe()
    preds[["unique_id_l", "unique_id_r", "match_weight"]].to_csv(out_csv, index=False)


def truth_pairs(people):
    by_person = {}
    for p in people:
        by_person.setdefault(p["truth"], []).append(p["unique_id"])
    pairs = set()
    for ids in by_person.values():
        for a, b in combinations(sorted(ids), 2):
            pairs.add((a, b))
    return pairs


def metrics(predicted, truth):
    tp = len(predicted & truth)
    fp = len(predicted - truth)
    fn = len(truth - predicted)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "false_merges": fp}


def score(people_csv, pairs_csv, label, decided):
    people = read_people(people_csv)
    truth = truth_pairs(people)
    scored = []
    with open(pairs_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            a, b = sorted((row["unique_id_l"], row["unique_id_r"]))
            scored.append((float(row["match_weight"]), (a, b), row.get("decision")))
    scored.sort(key=lambda s: -s[0])
    # The best threshold: the F1 maximum over every score seen.
    best = {"f1": -1.0}
    predicted = set()
    tp = 0
    for i, (w, pair, _) in enumerate(scored):
        predicted.add(pair)
        tp += pair in truth
        if i + 1 < len(scored) and scored[i + 1][0] == w:
            continue
        fp = len(predicted) - tp
        precision = tp / len(predicted)
        recall = tp / len(truth) if truth else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best["f1"]:
            best = {"threshold": w, "precision": precision, "recall": recall, "f1": f1,
                    "false_merges": fp}
    out = {"label": label, "truth_pairs": len(truth), "best": best}
    if decided:
        linked = {p for _, p, d in scored if d == "link"}
        queued = {p for _, p, d in scored if d in ("link", "review")}
        out["chosen"] = metrics(linked, truth)
        out["linked_or_queued"] = metrics(queued, truth)
        out["review_pairs"] = len(queued) - len(linked)
    else:
        # Splink's documented default: a match probability of 0.9 and over.
        import math
        w09 = math.log2(0.9 / 0.1)
        out["chosen"] = metrics({p for w, p, _ in scored if w >= w09}, truth)
    print(json.dumps(out))


def main():
    cmd = sys.argv[1]
    if cmd == "splink":
        splink_pairs(sys.argv[2], sys.argv[3])
    elif cmd == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4], "--decided" in sys.argv)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()

//! Scoring the discrepancy pass against the mock ministries' ground truth: which
//! planted facts were found (recall) and which findings are planted facts (precision),
//! per kind. Used by the end-to-end test at `small` scale and the benchmark at `full`.

use std::collections::{BTreeMap, BTreeSet};

use mock_ministries::{RosterPlan, Truth};
use schema::DiscrepancyKind;
use serde_json::Value;

/// How one kind of finding compares with the truth.
#[derive(Debug, Clone)]
pub struct KindScore {
    pub kind: DiscrepancyKind,
    pub expected: usize,
    pub found: usize,
    pub matched: usize,
    /// A few keys found but not expected, and expected but not found, to debug with.
    pub false_positives: Vec<String>,
    pub missed: Vec<String>,
}

impl KindScore {
    pub fn precision(&self) -> f64 {
        if self.found == 0 {
            if self.expected == 0 { 1.0 } else { 0.0 }
        } else {
            self.matched as f64 / self.found as f64
        }
    }

    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.matched as f64 / self.expected as f64
        }
    }
}

/// The truth's field names, as the findings name them.
fn field_name(truth_field: &str) -> &str {
    match truth_field {
        "name" => "name_km",
        other => other,
    }
}

/// What each kind should find: the truth's planted facts, and the roster plan's.
pub fn expected(
    truth: &Truth,
    plan: Option<&RosterPlan>,
) -> BTreeMap<DiscrepancyKind, BTreeSet<String>> {
    let f = &truth.facts;
    let mut e: BTreeMap<DiscrepancyKind, BTreeSet<String>> = BTreeMap::new();
    e.insert(
        DiscrepancyKind::OnRollNotServing,
        match plan {
            Some(p) => p.expected_on_roll_not_serving.iter().cloned().collect(),
            None => f
                .on_roll_not_serving
                .iter()
                .map(|x| x.officer_id.clone())
                .collect(),
        },
    );
    let mut serving: BTreeSet<String> = f
        .serving_not_on_roll
        .iter()
        .map(|x| x.officer_id.clone())
        .collect();
    if let Some(p) = plan {
        serving.extend(
            p.unknown
                .iter()
                .map(|u| format!("{}|{}", u.facility_code, u.name_km)),
        );
    }
    e.insert(DiscrepancyKind::ServingNotOnRoll, serving);
    e.insert(
        DiscrepancyKind::AssignmentConflict,
        f.assignment_conflict
            .iter()
            .map(|x| x.officer_id.clone())
            .collect(),
    );
    e.insert(
        DiscrepancyKind::AttributeConflict,
        f.attribute_conflict
            .iter()
            .map(|x| format!("{}|{}", x.officer_id, field_name(&x.field)))
            .collect(),
    );
    e.insert(
        DiscrepancyKind::PaidNotOnRoll,
        f.paid_not_on_roll
            .iter()
            .map(|x| x.officer_id.clone())
            .collect(),
    );
    e.insert(
        DiscrepancyKind::OnRollNotPaid,
        f.on_roll_not_paid
            .iter()
            .map(|x| x.officer_id.clone())
            .collect(),
    );
    e.insert(
        DiscrepancyKind::PossibleDuplicate,
        f.possible_duplicate
            .iter()
            .map(|[a, b]| format!("{a}+{b}"))
            .collect(),
    );
    // Facilities with a malformed commune code are kept, unplaced, by the adapters;
    // the mock lists them among its invalid records.
    let mut unplaced: BTreeSet<String> = f
        .facility_unplaced
        .iter()
        .map(|x| x.record_id.clone())
        .collect();
    unplaced.extend(
        truth
            .invalid
            .moh_org_units
            .iter()
            .chain(&truth.invalid.moeys_schools)
            .filter(|r| r.reason.contains("ADMIN_CODE") || r.reason.contains("commune_code"))
            .map(|r| r.id.clone()),
    );
    e.insert(DiscrepancyKind::FacilityUnplaced, unplaced);
    e
}

fn identifier(facility: &Value, systems: &[&str]) -> Option<String> {
    facility["identifiers"]
        .as_array()?
        .iter()
        .find(|i| systems.contains(&i["system"].as_str().unwrap_or("")))
        .and_then(|i| i["value"].as_str())
        .map(str::to_owned)
}

fn csid(staff: &Value) -> Option<String> {
    staff["civil_servant_id"].as_str().map(str::to_owned)
}

/// The truth's key of one finding (an API `DiscrepancyView` as JSON).
pub fn finding_key(finding: &Value) -> Option<String> {
    let staff = finding["staff"].as_array().cloned().unwrap_or_default();
    let evidence = finding["evidence"].as_array().cloned().unwrap_or_default();
    let first_csid = || staff.first().and_then(csid);
    match DiscrepancyKind::from_name(finding["kind"].as_str()?)? {
        DiscrepancyKind::OnRollNotServing
        | DiscrepancyKind::AssignmentConflict
        | DiscrepancyKind::OnRollNotPaid => first_csid(),
        DiscrepancyKind::ServingNotOnRoll => first_csid().or_else(|| {
            let code = identifier(&finding["facility"], &["moh:code", "moeys:school_code"])?;
            let entry = evidence.iter().find(|e| e["source"] == "roster")?;
            Some(format!("{code}|{}", entry["entry"]["name_km"].as_str()?))
        }),
        DiscrepancyKind::AttributeConflict => Some(format!(
            "{}|{}",
            first_csid()?,
            evidence.first()?["field"].as_str()?
        )),
        DiscrepancyKind::PaidNotOnRoll => evidence
            .iter()
            .find(|e| e["source"] == "mef")
            .and_then(|e| e["record_id"].as_str())
            .map(str::to_owned),
        DiscrepancyKind::PossibleDuplicate => {
            let mut ids: Vec<String> = staff
                .iter()
                .map(|s| csid(s).unwrap_or_else(|| s["id"].to_string()))
                .collect();
            ids.sort();
            Some(ids.join("+"))
        }
        DiscrepancyKind::FacilityUnplaced => {
            identifier(&finding["facility"], &["moh:dhis2", "moeys:school_code"])
        }
    }
}

/// Scores open `findings` against the truth (and the roster plan, once submitted).
pub fn score(truth: &Truth, plan: Option<&RosterPlan>, findings: &[Value]) -> Vec<KindScore> {
    let expected = expected(truth, plan);
    let mut found: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for f in findings {
        let kind = f["kind"].as_str().unwrap_or("?");
        let key = finding_key(f).unwrap_or_else(|| format!("unkeyed:{}", f["id"]));
        found.entry(kind).or_default().insert(key);
    }
    expected
        .iter()
        .map(|(kind, want)| {
            let got = found.remove(kind.as_str()).unwrap_or_default();
            KindScore {
                kind: *kind,
                expected: want.len(),
                found: got.len(),
                matched: got.intersection(want).count(),
                false_positives: got.difference(want).take(5).cloned().collect(),
                missed: want.difference(&got).take(5).cloned().collect(),
            }
        })
        .collect()
}

/// The per-kind table, as the test and the benchmark print it.
pub fn table(scores: &[KindScore]) -> String {
    let mut out = format!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
        "kind", "expected", "found", "precision", "recall", ""
    );
    for s in scores {
        out.push_str(&format!(
            "{:<22} {:>9} {:>9} {:>9.4} {:>9.4}\n",
            s.kind.as_str(),
            s.expected,
            s.found,
            s.precision(),
            s.recall()
        ));
        if !s.false_positives.is_empty() {
            out.push_str(&format!(
                "    e.g. found, not planted: {:?}\n",
                s.false_positives
            ));
        }
        if !s.missed.is_empty() {
            out.push_str(&format!("    e.g. planted, not found:  {:?}\n", s.missed));
        }
    }
    out
}

//! What people say of a finding: the states a reviewer moves it through, the reasons
//! an explanation may give (in Khmer and English), and the one transition rule.
//!
//! The sources decide whether a finding is `open` or `resolved`; people decide the
//! rest. A reviewer acknowledges a finding (someone is on it), explains it (a reason
//! from the vocabulary: the mismatch is real life, not an error), or confirms it (a
//! real problem for a ministry to fix); a reviewer may also put it back to open. A
//! resolved finding takes no action: there is nothing left to review.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{FieldError, Ministry, ParseError};

vocabulary!(
    /// Where a finding stands: `open` (nobody has taken it up), `acknowledged`
    /// (someone is on it), `explained` (a reason given: not an error),
    /// `confirmed` (a real problem for a ministry to fix), `resolved` (the sources
    /// came to agree).
    FindingState, "state" {
        Open = "open",
        Acknowledged = "acknowledged",
        Explained = "explained",
        Confirmed = "confirmed",
        Resolved = "resolved",
    }
);

vocabulary!(
    /// Why a finding is not an error: the reasons an explanation may give.
    Explanation, "reason" {
        OnLeave = "on_leave",
        Studying = "studying",
        Seconded = "seconded",
        Transferred = "transferred",
        Retired = "retired",
        Deceased = "deceased",
        /// The record of a named ministry is wrong (name it in `ministry`).
        DataError = "data_error",
        /// Anything else (say what in `note`).
        Other = "other",
    }
);

impl Explanation {
    /// The reason as a Cambodian reviewer reads it.
    pub fn label_km(self) -> &'static str {
        match self {
            Explanation::OnLeave => "ច្បាប់ឈប់សម្រាក",
            Explanation::Studying => "បន្តការសិក្សា",
            Explanation::Seconded => "ដាក់ឱ្យទៅបម្រើការងារនៅស្ថាប័នផ្សេង",
            Explanation::Transferred => "ផ្ទេរការងារ",
            Explanation::Retired => "ចូលនិវត្តន៍",
            Explanation::Deceased => "ទទួលមរណភាព",
            Explanation::DataError => "កំហុសទិន្នន័យរបស់ក្រសួង",
            Explanation::Other => "ផ្សេងៗ",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Explanation::OnLeave => "On leave",
            Explanation::Studying => "Studying",
            Explanation::Seconded => "Seconded to another institution",
            Explanation::Transferred => "Transferred",
            Explanation::Retired => "Retired",
            Explanation::Deceased => "Deceased",
            Explanation::DataError => "Data error at a ministry",
            Explanation::Other => "Other",
        }
    }
}

/// The longest note a reviewer may write.
pub const MAX_NOTE_CHARS: usize = 1000;

/// What a reviewer does to a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingAction {
    Acknowledge {
        note: Option<String>,
    },
    Explain {
        reason: Explanation,
        /// For `data_error`: whose record is wrong.
        ministry: Option<Ministry>,
        note: Option<String>,
    },
    /// A real problem; `ministry` is the one whose record should change, where the
    /// reviewer knows it.
    Confirm {
        ministry: Option<Ministry>,
        note: Option<String>,
    },
    Reopen {
        note: Option<String>,
    },
}

const ACTION_FIELDS: [&str; 4] = ["action", "reason", "ministry", "note"];

impl FindingAction {
    pub fn name(&self) -> &'static str {
        match self {
            FindingAction::Acknowledge { .. } => "acknowledge",
            FindingAction::Explain { .. } => "explain",
            FindingAction::Confirm { .. } => "confirm",
            FindingAction::Reopen { .. } => "reopen",
        }
    }

    /// The state the action leads to.
    pub fn target(&self) -> FindingState {
        match self {
            FindingAction::Acknowledge { .. } => FindingState::Acknowledged,
            FindingAction::Explain { .. } => FindingState::Explained,
            FindingAction::Confirm { .. } => FindingState::Confirmed,
            FindingAction::Reopen { .. } => FindingState::Open,
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            FindingAction::Acknowledge { note }
            | FindingAction::Explain { note, .. }
            | FindingAction::Confirm { note, .. }
            | FindingAction::Reopen { note } => note.as_deref(),
        }
    }

    /// Reads an action's JSON body, naming every fault by field.
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let Some(object) = body.as_object() else {
            return Err(vec![FieldError::top(
                "body",
                "must be a JSON object with `action`",
            )]);
        };
        let mut errors = Vec::new();
        for key in object.keys() {
            if !ACTION_FIELDS.contains(&key.as_str()) {
                errors.push(FieldError::top(
                    key,
                    "is not a field of an action (expected action, reason, ministry, note)",
                ));
            }
        }
        let text = |field: &str, errors: &mut Vec<FieldError>| -> Option<String> {
            match object.get(field) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => {
                    let s = s.trim();
                    if s.contains('\0') {
                        errors.push(FieldError::top(field, crate::NUL_RULE));
                        None
                    } else {
                        Some(s.to_owned()).filter(|s| !s.is_empty())
                    }
                }
                Some(_) => {
                    errors.push(FieldError::top(field, "must be a string"));
                    None
                }
            }
        };
        let action = text("action", &mut errors);
        let reason = text("reason", &mut errors);
        let ministry_text = text("ministry", &mut errors);
        let note = text("note", &mut errors);
        if note
            .as_deref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
        {
            errors.push(FieldError::top(
                "note",
                format!("is longer than {MAX_NOTE_CHARS} characters"),
            ));
        }
        let ministry = ministry_text.as_deref().and_then(|m| {
            Ministry::from_name(m).or_else(|| {
                let names: Vec<&str> = Ministry::ALL.iter().map(|m| m.as_str()).collect();
                errors.push(FieldError::top(
                    "ministry",
                    format!("{m:?} is not one of {}", names.join(", ")),
                ));
                None
            })
        });
        let reason = reason.as_deref().and_then(|r| {
            Explanation::from_name(r).or_else(|| {
                let names: Vec<&str> = Explanation::ALL.iter().map(|e| e.as_str()).collect();
                errors.push(FieldError::top(
                    "reason",
                    format!("{r:?} is not one of {}", names.join(", ")),
                ));
                None
            })
        });
        let misplaced = |field: &str, what: &str, errors: &mut Vec<FieldError>| {
            errors.push(FieldError::top(field, format!("is not taken by `{what}`")));
        };
        let parsed = match action.as_deref() {
            None => {
                errors.push(FieldError::top(
                    "action",
                    "is required: acknowledge, explain, confirm or reopen",
                ));
                None
            }
            Some("acknowledge" | "reopen") => {
                let what = action.as_deref().unwrap_or_default();
                if object.get("reason").is_some_and(|v| !v.is_null()) {
                    misplaced("reason", what, &mut errors);
                }
                if object.get("ministry").is_some_and(|v| !v.is_null()) {
                    misplaced("ministry", what, &mut errors);
                }
                Some(if what == "acknowledge" {
                    FindingAction::Acknowledge { note: note.clone() }
                } else {
                    FindingAction::Reopen { note: note.clone() }
                })
            }
            Some("confirm") => {
                if object.get("reason").is_some_and(|v| !v.is_null()) {
                    misplaced("reason", "confirm", &mut errors);
                }
                Some(FindingAction::Confirm {
                    ministry,
                    note: note.clone(),
                })
            }
            Some("explain") => match reason {
                None => {
                    if object.get("reason").is_none_or(|v| v.is_null()) {
                        errors.push(FieldError::top(
                            "reason",
                            "is required to explain a finding",
                        ));
                    }
                    None
                }
                Some(reason) => {
                    if reason == Explanation::DataError && ministry.is_none() {
                        errors.push(FieldError::top(
                            "ministry",
                            "is required for data_error: whose record is wrong",
                        ));
                    }
                    if reason != Explanation::DataError
                        && object.get("ministry").is_some_and(|v| !v.is_null())
                    {
                        errors.push(FieldError::top(
                            "ministry",
                            "is taken only with the reason data_error",
                        ));
                    }
                    if reason == Explanation::Other && note.is_none() {
                        errors.push(FieldError::top(
                            "note",
                            "is required for the reason other: say what",
                        ));
                    }
                    Some(FindingAction::Explain {
                        reason,
                        ministry,
                        note: note.clone(),
                    })
                }
            },
            Some(other) => {
                errors.push(FieldError::top(
                    "action",
                    format!("{other:?} is not acknowledge, explain, confirm or reopen"),
                ));
                None
            }
        };
        match parsed {
            Some(a) if errors.is_empty() => Ok(a),
            _ => Err(errors),
        }
    }
}

/// Why an action cannot be taken on a finding in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionRefused {
    /// The sources agree now: there is nothing to review.
    Resolved,
    /// Reopening a finding that is open.
    AlreadyOpen,
}

impl FindingState {
    /// Where `action` takes a finding in this state. Any state people set may be
    /// changed by another action (a reviewer corrects a colleague, or learns more);
    /// a resolved finding takes none.
    pub fn apply(self, action: &FindingAction) -> Result<FindingState, TransitionRefused> {
        match (self, action) {
            (FindingState::Resolved, _) => Err(TransitionRefused::Resolved),
            (FindingState::Open, FindingAction::Reopen { .. }) => {
                Err(TransitionRefused::AlreadyOpen)
            }
            (_, a) => Ok(a.target()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(e: Vec<FieldError>) -> Vec<String> {
        e.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn each_action_reads_from_its_body() {
        assert_eq!(
            FindingAction::parse(&json!({"action": "acknowledge"})),
            Ok(FindingAction::Acknowledge { note: None })
        );
        assert_eq!(
            FindingAction::parse(&json!({"action": "explain", "reason": "on_leave",
                                          "note": " ឈប់សម្រាកលំហែមាតុភាព "})),
            Ok(FindingAction::Explain {
                reason: Explanation::OnLeave,
                ministry: None,
                note: Some("ឈប់សម្រាកលំហែមាតុភាព".into())
            })
        );
        assert_eq!(
            FindingAction::parse(&json!({"action": "explain", "reason": "data_error",
                                          "ministry": "mcs"})),
            Ok(FindingAction::Explain {
                reason: Explanation::DataError,
                ministry: Some(Ministry::Mcs),
                note: None
            })
        );
        assert_eq!(
            FindingAction::parse(&json!({"action": "confirm", "ministry": "moh"})),
            Ok(FindingAction::Confirm {
                ministry: Some(Ministry::Moh),
                note: None
            })
        );
    }

    #[test]
    fn every_fault_is_named_by_its_field() {
        let e = FindingAction::parse(&json!({"action": "explain"})).expect_err("no reason");
        assert_eq!(fields(e), ["reason"]);
        let e = FindingAction::parse(&json!({"action": "explain", "reason": "data_error"}))
            .expect_err("no ministry");
        assert_eq!(fields(e), ["ministry"]);
        let e = FindingAction::parse(&json!({"action": "explain", "reason": "other"}))
            .expect_err("no note");
        assert_eq!(fields(e), ["note"]);
        let e = FindingAction::parse(&json!({"action": "explain", "reason": "holiday",
                                              "ministry": "health", "extra": 1}))
        .expect_err("three faults");
        let mut f = fields(e);
        f.sort();
        assert_eq!(f, ["extra", "ministry", "reason"]);
        let e = FindingAction::parse(&json!({"action": "close"})).expect_err("unknown");
        assert_eq!(fields(e), ["action"]);
        let e = FindingAction::parse(&json!({"action": "acknowledge", "reason": "retired"}))
            .expect_err("misplaced");
        assert_eq!(fields(e), ["reason"]);
        let e = FindingAction::parse(&json!({"action": "confirm", "note": "a\u{0}b"}))
            .expect_err("NUL");
        assert_eq!(fields(e), ["note"]);
        let e = FindingAction::parse(&json!([1])).expect_err("not an object");
        assert_eq!(fields(e), ["body"]);
    }

    #[test]
    fn a_resolved_finding_takes_no_action_and_an_open_one_is_not_reopened() {
        let ack = FindingAction::Acknowledge { note: None };
        let reopen = FindingAction::Reopen { note: None };
        assert_eq!(
            FindingState::Open.apply(&ack),
            Ok(FindingState::Acknowledged)
        );
        assert_eq!(
            FindingState::Explained.apply(&reopen),
            Ok(FindingState::Open)
        );
        assert_eq!(
            FindingState::Confirmed.apply(&FindingAction::Explain {
                reason: Explanation::Transferred,
                ministry: None,
                note: None
            }),
            Ok(FindingState::Explained)
        );
        assert_eq!(
            FindingState::Resolved.apply(&ack),
            Err(TransitionRefused::Resolved)
        );
        assert_eq!(
            FindingState::Open.apply(&reopen),
            Err(TransitionRefused::AlreadyOpen)
        );
    }

    #[test]
    fn every_reason_has_both_labels() {
        for e in Explanation::ALL {
            assert!(!e.label_km().is_empty() && !e.label_en().is_empty());
            assert!(
                e.label_km()
                    .chars()
                    .any(|c| ('\u{1780}'..='\u{17FF}').contains(&c))
            );
        }
    }
}

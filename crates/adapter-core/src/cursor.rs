use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Where a pull of one feed stands, in a form a sync stores after each committed page
/// and resumes from after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Only records changed after this time (an incremental pull); none for a full one.
    pub since: Option<DateTime<Utc>>,
    pub position: Position,
    /// The newest change time seen so far in this pull: the next pull's `since`.
    pub high_water: Option<DateTime<Utc>>,
    /// The first source id of the page before, to recognise a page served twice.
    pub guard: Option<String>,
}

/// The place in a feed, in the terms its source pages by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "at", rename_all = "snake_case")]
pub enum Position {
    Start,
    /// The next page number to ask for.
    Page(u32),
    /// The next link to follow (FHIR `next`), absolute, used as given.
    Link(String),
    /// Rows of a streamed export already delivered.
    Row(u64),
    Done,
}

impl Cursor {
    /// A full pull from the start.
    pub fn full() -> Self {
        Self {
            since: None,
            position: Position::Start,
            high_water: None,
            guard: None,
        }
    }

    /// An incremental pull of what changed after `since`.
    pub fn since(since: DateTime<Utc>) -> Self {
        Self {
            since: Some(since),
            ..Self::full()
        }
    }

    pub fn is_done(&self) -> bool {
        self.position == Position::Done
    }

    /// The page number to ask for: the stored one, or the first.
    pub fn page_number(&self) -> u32 {
        match self.position {
            Position::Page(n) => n,
            _ => 1,
        }
    }

    /// The next pull after this one completed: from its high-water mark, less
    /// `overlap` for sources whose clocks or filters may let a change slip past the
    /// boundary. Without a high-water mark (nothing changed), from the same `since`.
    pub fn next_pull(&self, overlap: Duration) -> Self {
        match self.high_water {
            Some(t) => Self::since(t - overlap),
            None => Self {
                position: Position::Start,
                guard: None,
                ..self.clone()
            },
        }
    }

    /// This cursor moved to `position`, with `seen` change times folded into the
    /// high-water mark and `first_id` as the guard against a repeated page. The cursor
    /// is stored as jsonb, which takes no NUL: an id with one is kept with U+FFFD in its
    /// place (it then guards nothing; a page cannot fail over it).
    pub fn advanced(
        &self,
        position: Position,
        seen: impl IntoIterator<Item = DateTime<Utc>>,
        first_id: Option<String>,
    ) -> Self {
        let high_water = seen.into_iter().chain(self.high_water).max();
        Self {
            since: self.since,
            position,
            high_water,
            guard: first_id
                .map(|id| id.replace('\0', "\u{FFFD}"))
                .or_else(|| self.guard.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_with_a_nul_is_stored_without_it() {
        let c = Cursor::full().advanced(Position::Page(2), [], Some("a\0b".to_owned()));
        assert_eq!(c.guard.as_deref(), Some("a\u{FFFD}b"));
        assert!(!serde_json::to_string(&c).expect("json").contains("\\u0000"));
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn every_position_survives_a_round_trip_through_json() {
        let positions = [
            Position::Start,
            Position::Page(7),
            Position::Link("https://fhir.example/Practitioner?page=2&_count=50".to_owned()),
            Position::Row(123_456),
            Position::Done,
        ];
        for position in positions {
            let cursor = Cursor::since(at("2025-11-30T10:00:00Z")).advanced(
                position,
                [at("2025-12-01T08:30:00Z")],
                Some("MCS-0001".to_owned()),
            );
            let json = serde_json::to_value(&cursor).expect("json");
            let back: Cursor = serde_json::from_value(json).expect("read back");
            assert_eq!(back, cursor);
        }
        assert_eq!(
            serde_json::from_value::<Cursor>(serde_json::to_value(Cursor::full()).expect("json"))
                .expect("read back"),
            Cursor::full()
        );
    }

    #[test]
    fn the_stored_form_is_the_one_earlier_runs_wrote() {
        // Cursors are stored between runs: their JSON form must not drift.
        let c = Cursor::since(at("2025-11-30T10:00:00Z")).advanced(Position::Page(3), [], None);
        assert_eq!(
            serde_json::to_value(&c).expect("json"),
            serde_json::json!({
                "since": "2025-11-30T10:00:00Z",
                "position": {"kind": "page", "at": 3},
                "high_water": null,
                "guard": null
            })
        );
        let done: Cursor = serde_json::from_value(serde_json::json!({
            "since": null, "position": {"kind": "done"}, "high_water": "2025-12-01T00:00:00Z",
            "guard": "x"
        }))
        .expect("a stored done cursor");
        assert!(done.is_done());
        assert!(
            serde_json::from_value::<Cursor>(serde_json::json!({"position": {"kind": "later"}}))
                .is_err()
        );
    }

    #[test]
    fn the_high_water_mark_only_rises_and_the_next_pull_starts_there() {
        let c = Cursor::full()
            .advanced(
                Position::Page(2),
                [at("2025-12-01T00:00:00Z"), at("2025-12-03T00:00:00Z")],
                Some("a".to_owned()),
            )
            .advanced(Position::Done, [at("2025-12-02T00:00:00Z")], None);
        assert_eq!(c.high_water, Some(at("2025-12-03T00:00:00Z")));
        assert_eq!(
            c.guard.as_deref(),
            Some("a"),
            "kept when the page had no id"
        );
        let next = c.next_pull(Duration::minutes(5));
        assert_eq!(next.since, Some(at("2025-12-02T23:55:00Z")));
        assert_eq!(next.position, Position::Start);
        // Nothing changed: the same `since` again, from the start.
        let quiet = Cursor::since(at("2025-11-01T00:00:00Z")).advanced(Position::Done, [], None);
        let again = quiet.next_pull(Duration::zero());
        assert_eq!(again.since, quiet.since);
        assert_eq!((again.position, again.guard), (Position::Start, None));
        assert_eq!(Cursor::full().page_number(), 1);
        assert_eq!(c.advanced(Position::Page(9), [], None).page_number(), 9);
    }
}

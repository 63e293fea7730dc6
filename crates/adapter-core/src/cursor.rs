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
}

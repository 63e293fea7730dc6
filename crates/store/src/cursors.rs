//! Where each feed's pull stopped. Cursors are stored as JSON the store does not
//! interpret: their shape belongs to the adapters. A cursor is saved in the
//! transaction of the page it points past, so the two commit together.

use schema::Ministry;
use serde_json::Value;
use tokio_postgres::types::Json;

use crate::{Store, StoreError, WriteTx};

impl Store {
    /// The stored cursor of a feed, if a pull of it ever stored one.
    pub async fn load_cursor(
        &self,
        ministry: Ministry,
        feed: &str,
    ) -> Result<Option<Value>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT cursor FROM sync_cursors WHERE ministry = $1 AND feed = $2",
                &[&ministry.as_str(), &feed],
            )
            .await?;
        Ok(row.map(|r| r.get::<_, Json<Value>>(0).0))
    }
}

impl WriteTx {
    /// Stores the cursor of `ministry`'s `feed`, replacing the one held.
    pub async fn save_cursor(
        &self,
        ministry: Ministry,
        feed: &str,
        cursor: &Value,
    ) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO sync_cursors (ministry, feed, cursor) VALUES ($1, $2, $3)
                 ON CONFLICT (ministry, feed) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()",
                &[&ministry.as_str(), &feed, &Json(cursor)],
            )
            .await?;
        Ok(())
    }
}

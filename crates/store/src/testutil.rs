//! Helpers for the unit tests: a fresh SQLite database in a temporary directory.

use crate::{Db, DbOptions};

/// A migrated-or-not SQLite `Db` on a new temp file; keep the directory alive while using it.
pub(crate) async fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/voxbin.db");
    let db = Db::connect(&DbOptions::new(format!("sqlite://{}", path.display())))
        .await
        .unwrap();
    (dir, db)
}

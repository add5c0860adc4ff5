//! Importing a folder written by `duetrack export` into an empty database.

use super::run::{ImportError, ImportOptions, Imported};
use crate::store::Store;
use std::path::Path;

pub async fn import(
    _store: &Store,
    dir: &Path,
    _options: &ImportOptions,
) -> Result<Imported, ImportError> {
    Err(ImportError::Usage(format!(
        "{}: importing a duetrack export is not built yet",
        dir.display()
    )))
}

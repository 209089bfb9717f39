//! What each phase's last run left behind: `target/xtask/phases/<phase>.json`.

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Succeeded,
    Skipped,
    Failed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub status: RecordStatus,
    pub fingerprint: Option<String>,
    /// Seconds since the Unix epoch.
    pub finished_at: u64,
    pub duration_ms: u64,
}

impl Record {
    pub fn new(status: RecordStatus, fingerprint: Option<String>, duration_ms: u64) -> Record {
        let finished_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Record { status, fingerprint, finished_at, duration_ms }
    }
}

pub struct StateStore {
    dir: Utf8PathBuf,
}

impl StateStore {
    pub fn new(dir: Utf8PathBuf) -> StateStore {
        StateStore { dir }
    }

    fn path(&self, phase: &str) -> Utf8PathBuf {
        self.dir.join(format!("{phase}.json"))
    }

    /// The last record, if any. An unreadable record counts as none: the phase simply reruns.
    pub fn get(&self, phase: &str) -> Option<Record> {
        let text = fs::read_to_string(self.path(phase)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn put(&self, phase: &str, record: &Record) -> Result<()> {
        fs::create_dir_all(&self.dir).with_context(|| format!("cannot create {}", self.dir))?;
        let path = self.path(phase);
        // Write then rename: an interrupted write never leaves a half record behind.
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(record)?).with_context(|| format!("cannot write {tmp}"))?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot write {path}"))?;
        Ok(())
    }
}

//! Offset pagination shared by every list endpoint.

use serde::Serialize;

pub const DEFAULT_LIMIT: i64 = 50;
/// Larger requested limits are clamped to this (the response's `limit` says what was applied)
/// rather than refused, so a client asking for "everything" still gets a bounded answer.
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
}

impl PageRequest {
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Self, String> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) if l < 1 => return Err(format!("limit must be at least 1 (got {l})")),
            Some(l) => l.min(MAX_LIMIT),
        };
        let offset = match offset {
            None => 0,
            Some(o) if o < 0 => return Err(format!("offset must not be negative (got {o})")),
            Some(o) => o,
        };
        Ok(Self { limit, offset })
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, offset: 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Matching items across all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_clamping_and_refusals() {
        assert_eq!(PageRequest::new(None, None), Ok(PageRequest { limit: 50, offset: 0 }));
        assert_eq!(PageRequest::new(Some(1000), Some(5)), Ok(PageRequest { limit: 100, offset: 5 }));
        assert!(PageRequest::new(Some(0), None).unwrap_err().contains("limit"));
        assert!(PageRequest::new(None, Some(-1)).unwrap_err().contains("offset"));
    }
}

//! Without the `s3` cargo feature there are no S3 settings: `S3Config` has no
//! value, so `Config::s3` is always `None`, and the code that reads it needs no
//! `cfg` of its own.

use crate::error::Result;

/// The S3 settings of a build without the `s3` feature: a type without values.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum S3Config {}

impl S3Config {
    pub(crate) fn validate(&self) -> Result<()> {
        match *self {}
    }
}

/// No S3 PUT limits segments without the archive tier.
pub(crate) const MAX_SEGMENT_SIZE: u64 = u64::MAX;

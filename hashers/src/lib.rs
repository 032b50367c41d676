//! Content hashers.

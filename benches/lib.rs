//! Shared helpers for the Glassbox benchmarks.

//! Guard evaluation and properties: precision and recall on the labelled corpus, streaming
//! equivalence for random chunkings, placeholder stability, and robustness bounds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "test code: a failed step fails the test; the evaluation prints its table"
)]

mod corpus;
mod properties;

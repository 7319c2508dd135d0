//! The guard: finds personal data, credentials and prompt-injection markers in text and
//! redacts them. Pure library: no IO, no dependency on other Switchboard crates.
//!
//! Used by the gateway, the runtime, memory and the audit log. The detectors, actions and
//! streaming redactor are built in the guard capability (see the issue tracker); until then
//! this crate only reserves its place in the dependency graph.

//! Front ends: what the user sees and types — screen output, scripted input.

pub mod script;

pub mod screen;

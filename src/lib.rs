//! # Glassbox — a see-through PC emulator
//!
//! Glassbox emulates a whole x86 PC with an interpreter you can read. This page is the map.
//!
//! ## The shape
//! One [`machine::Pc`] owns everything: the [`cpu::Cpu`], guest memory ([`mem::Memory`]) and the
//! device platform (crate `glassbox_devices`). The CPU talks to the machine only through the
//! small [`cpu::Bus`] trait. Every port access — from the interpreter's `IN`/`OUT` or from a KVM
//! exit ([`accel`]) — lands in the one `Pc::io_read`/`Pc::io_write`, where the device table is
//! consulted and where debugger hooks attach.
//!
//! ## Time
//! Time is virtual and counted in CPU cycles. Each instruction is charged its cost for the
//! configured CPU model from the opcode table. Devices never tick per cycle: they compute their
//! state lazily from "now" and ask the scheduler for a callback at their next edge. The run loop
//! ([`machine::Pc::run`]) gives the CPU a budget up to the next scheduler deadline, then lets the
//! due devices run, then checks the interrupt line. Same inputs, same run, bit for bit.
//!
//! ## The run loop in one breath
//! fetch → decode (table-driven, [`cpu::decode`]) → execute (handlers by family) → charge
//! cycles → (deadline reached?) run device events → (INTR and IF?) acknowledge the PIC and enter
//! the handler through the IVT.
//!
//! Decoding happens once per instruction, not once per execution: decoded instructions are
//! kept in *traces* (runs of up to 64 instructions, see `cpu/trace.rs`) and run back to back
//! until something needs the run loop. A write to cached code starts a new "code epoch" in
//! [`mem::Memory`], which retires every trace. `--decode-cache off` turns this off and shows
//! the same machine decoding every instruction afresh.
//!
//! ## Checking the interpreter
//! [`difftest`] runs random instruction sequences on the interpreter and on a reference — a
//! real CPU through KVM, or the interpreter without its decode cache — and compares the end
//! states, shrinking any mismatch to a short reproducer.

#![warn(missing_docs)]

pub mod accel;
pub mod cpu;
pub mod debugger;
pub mod difftest;
pub mod frontend;
pub mod machine;
pub mod mem;
pub mod suite;

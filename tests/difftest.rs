//! The differential tester: the interpreter against the host CPU through KVM (where
//! `/dev/kvm` works; skipped with a message elsewhere), and its self-test, the interpreter
//! with its decode cache against the interpreter without it. Any mismatch is printed as a
//! reproducer. Both run in real mode (`--mode real16`) and in protected mode (`--mode prot32`).

use glassbox::difftest::cli::{run_to, DifftestArgs, Reference};
use glassbox::difftest::Mode;

#[test]
fn decode_cache_matches_plain_decoding_on_2000_sequences() {
    self_test(Mode::Real16, 2000, 2024);
}

#[test]
fn kvm_agrees_with_the_interpreter_on_a_fixed_sample() {
    kvm_sample(Mode::Real16, 3000, 5);
}

#[test]
fn decode_cache_matches_plain_decoding_in_protected_mode() {
    self_test(Mode::Prot32, 2000, 7);
}

#[test]
fn kvm_agrees_with_the_interpreter_in_protected_mode() {
    kvm_sample(Mode::Prot32, 2000, 1);
}

/// Runs `count` sequences of `seed` in `mode` on the interpreter with its decode cache and
/// without it, and requires zero mismatches.
fn self_test(mode: Mode, count: u64, seed: u64) {
    let args = DifftestArgs {
        mode,
        count,
        seed,
        reference: Reference::InterpNocache,
        ..DifftestArgs::default()
    };
    let mut out = Vec::new();
    let mismatches = run_to(&args, |_| unreachable!("no KVM needed"), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(mismatches, 0, "{text}");
    let last = format!("{count} sequences, 0 mismatches");
    assert_eq!(text.lines().last(), Some(last.as_str()));
}

/// Runs `count` sequences of `seed` in `mode` on the interpreter and on KVM and requires zero
/// mismatches (skipped with a message where KVM is not usable).
fn kvm_sample(mode: Mode, count: u64, seed: u64) {
    #[cfg(all(feature = "kvm", target_os = "linux", target_arch = "x86_64"))]
    {
        if let Err(why) = glassbox::accel::kvm_usable() {
            eprintln!("SKIPPED: KVM is not usable here: {why}");
            return;
        }
        let args = DifftestArgs {
            mode,
            count,
            seed,
            reference: Reference::Kvm,
            ..DifftestArgs::default()
        };
        let mut out = Vec::new();
        let mismatches = run_to(
            &args,
            |ram| glassbox::difftest::kvm::KvmBackend::new(ram).map(|b| Box::new(b) as _),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        eprintln!(
            "{}",
            text.lines().rev().take(3).collect::<Vec<_>>().join("\n")
        );
        assert_eq!(mismatches, 0, "{text}");
        let last = format!("{count} sequences, 0 mismatches");
        assert_eq!(text.lines().last(), Some(last.as_str()));
    }
    #[cfg(not(all(feature = "kvm", target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = (mode, count, seed);
        eprintln!("SKIPPED: this build has no KVM back end");
    }
}

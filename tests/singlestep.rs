//! The SingleStepTests hardware vectors (../shared/suites) through the interpreter.
//!
//! Heavy: run in release mode (`cargo test --release`). In a debug build the suites are skipped
//! with a message. A missing suite folder is a loud skip on a developer machine and a failure in
//! CI (`CI` set), where the data must be present.

use glassbox::cpu::CpuModel;
use glassbox::suite::{run_suite, SuiteOptions};
use std::path::PathBuf;

fn suites_dir() -> PathBuf {
    match std::env::var_os("GLASSBOX_SUITES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/suites"),
    }
}

fn run(name: &str, model: CpuModel, min_rate: f64) {
    if cfg!(debug_assertions) {
        eprintln!("SKIPPED: the {name} suite runs in release mode only (cargo test --release)");
        return;
    }
    let dir = suites_dir().join(name);
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "suite {} is missing in CI",
            dir.display()
        );
        eprintln!(
            "SKIPPED (LOUDLY): suite folder {} not found; set GLASSBOX_SUITES",
            dir.display()
        );
        return;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let opts = SuiteOptions {
        model,
        filter: None,
        show_failures: 2,
        threads,
    };
    let mut worst = Vec::new();
    let (pass, fail) = run_suite(&dir, &opts, |r| {
        if r.failed > 0 {
            worst.push(format!(
                "{}: {} failed; {}",
                r.name,
                r.failed,
                r.failures.join(" | ")
            ));
        }
    })
    .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let rate = pass as f64 / (pass + fail) as f64;
    eprintln!(
        "{name}: {pass} passed, {fail} failed ({:.3} %)",
        rate * 100.0
    );
    for w in &worst {
        eprintln!("  {w}");
    }
    assert!(
        pass + fail > 100_000,
        "{name}: only {} tests ran",
        pass + fail
    );
    assert!(
        rate >= min_rate,
        "{name}: pass rate {:.3} % is below {:.1} %",
        rate * 100.0,
        min_rate * 100.0
    );
}

#[test]
fn singlestep_8086() {
    run("singlesteptests-8086", CpuModel::I8086, 0.999);
}

#[test]
fn singlestep_80286_real_mode() {
    run("singlesteptests-80286", CpuModel::I286, 0.995);
}

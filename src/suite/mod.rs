//! The SingleStepTests harness: runs hardware-captured per-instruction vectors through the
//! interpreter on a flat-RAM test bus and compares registers and memory.
//!
//! Two sets are supported (see the READMEs next to the data):
//! - **8086** (`cpu_id` "8086"): 1 MiB, addresses wrap at 20 bits; one instruction per test
//!   (a REP string instruction runs to completion); a divide error ends at the handler's first
//!   byte with the pushed FLAGS word masked.
//! - **80286 real mode** ("C286"): 16 MiB, A20 on; run until the HLT that follows the
//!   instruction (or the handler) has executed; FLAGS loaded masked with 0x0FFF.
//!
//! Undefined flags are masked only as each suite's `metadata.json` says.

pub mod moo;

use crate::cpu::{Bus, Cpu, CpuModel};
use moo::{Test, REG_NAMES};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Flat 16 MiB RAM with I/O reading all ones, remembering what was touched.
pub struct TestBus {
    ram: Vec<u8>,
    touched: Vec<u32>,
}

impl TestBus {
    /// An all-zero 16 MiB bus.
    pub fn new() -> TestBus {
        TestBus {
            ram: vec![0; 1 << 24],
            touched: Vec::new(),
        }
    }
    fn clear(&mut self) {
        for a in self.touched.drain(..) {
            self.ram[a as usize] = 0;
        }
    }
    /// Pokes a byte (setting up a test).
    pub fn poke(&mut self, a: u32, v: u8) {
        let a = a & 0xFF_FFFF;
        self.ram[a as usize] = v;
        self.touched.push(a);
    }
    /// Reads a byte without side effects.
    pub fn peek(&self, a: u32) -> u8 {
        self.ram[(a & 0xFF_FFFF) as usize]
    }
}

impl Default for TestBus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus for TestBus {
    const TRACE_ID: u8 = 4;
    #[inline]
    fn read8(&mut self, a: u32) -> u8 {
        self.ram[(a & 0xFF_FFFF) as usize]
    }
    #[inline]
    fn write8(&mut self, a: u32, v: u8) {
        self.poke(a, v);
    }
    fn io_read(&mut self, _port: u16, size: u8, _now: u64) -> u32 {
        crate::cpu::bus::open_bus(size)
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32, _now: u64) {}
}

/// Result of one opcode file.
#[derive(Clone, Debug, Default)]
pub struct FileResult {
    /// File stem, e.g. `F6.6`.
    pub name: String,
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests skipped by the revocation list.
    pub revoked: u64,
    /// Descriptions of the first failures.
    pub failures: Vec<String>,
}

/// Flag masks from a suite's `metadata.json`, by file stem (`"F6.6"`, `"00"`).
pub struct Metadata {
    masks: HashMap<String, u16>,
}

impl Metadata {
    /// Loads `metadata.json` (empty masks if `path` does not exist).
    pub fn load(path: &Path) -> anyhow::Result<Metadata> {
        let mut masks = HashMap::new();
        if !path.exists() {
            return Ok(Metadata { masks });
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if let Some(ops) = v.get("opcodes").and_then(|o| o.as_object()) {
            for (op, ent) in ops {
                if let Some(m) = ent.get("flags-mask").and_then(|m| m.as_u64()) {
                    masks.insert(op.to_uppercase(), m as u16);
                }
                if let Some(regs) = ent.get("reg").and_then(|r| r.as_object()) {
                    for (r, e) in regs {
                        if let Some(m) = e.get("flags-mask").and_then(|m| m.as_u64()) {
                            masks.insert(format!("{}.{}", op.to_uppercase(), r), m as u16);
                        }
                    }
                }
            }
        }
        Ok(Metadata { masks })
    }

    /// The flags mask for a file stem (all ones when nothing is undefined).
    pub fn mask(&self, stem: &str) -> u16 {
        self.masks
            .get(&stem.to_uppercase())
            .copied()
            .unwrap_or(0xFFFF)
    }
}

/// Which suite a file belongs to, from its header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flavor {
    /// The 8086 set: one instruction.
    I8086,
    /// The 286 real-mode set: run to HLT.
    I286,
}

fn set_state(cpu: &mut Cpu, bus: &mut TestBus, t: &Test, flavor: Flavor) {
    let r = |k: usize| t.init.regs[k].unwrap_or(0);
    cpu.reset();
    for (k, &g) in [0u8, 3, 1, 2, 4, 5, 6, 7].iter().enumerate() {
        // ax bx cx dx sp bp si di → register numbers
        let idx = [0, 1, 2, 3, 8, 9, 10, 11][k];
        cpu.set_r16(g, r(idx));
    }
    for (s, idx) in [(1u8, 4usize), (2, 5), (3, 6), (0, 7)] {
        cpu.load_seg_real(s, r(idx));
    }
    cpu.eip = r(12) as u32;
    let fl = r(13) as u32;
    match flavor {
        Flavor::I8086 => cpu.flags.set(fl | 2),
        Flavor::I286 => cpu.flags.set((fl & 0x0FFF) | 2),
    }
    for &(a, v) in &t.init.ram {
        bus.poke(a, v);
    }
}

fn reg_value(cpu: &Cpu, k: usize) -> u16 {
    match k {
        0 => cpu.r16(0),
        1 => cpu.r16(3),
        2 => cpu.r16(1),
        3 => cpu.r16(2),
        4 => cpu.segs[1].selector,
        5 => cpu.segs[2].selector,
        6 => cpu.segs[3].selector,
        7 => cpu.segs[0].selector,
        8 => cpu.r16(4),
        9 => cpu.r16(5),
        10 => cpu.r16(6),
        11 => cpu.r16(7),
        12 => cpu.eip as u16,
        _ => cpu.eflags() as u16,
    }
}

/// Runs one test; `Err` describes the mismatch.
pub fn run_test(
    cpu: &mut Cpu,
    bus: &mut TestBus,
    t: &Test,
    flavor: Flavor,
    flag_mask: u16,
) -> Result<(), String> {
    bus.clear();
    set_state(cpu, bus, t, flavor);
    match flavor {
        Flavor::I8086 => cpu.step_instruction(bus),
        Flavor::I286 => {
            for _ in 0..16 {
                cpu.step_instruction(bus);
                if cpu.halted {
                    break;
                }
            }
        }
    }
    let mut errs = Vec::new();
    for (k, name) in REG_NAMES.iter().enumerate() {
        let want = t.fina.regs[k].or(t.init.regs[k]).unwrap_or(0);
        let got = reg_value(cpu, k);
        let (w, g) = if k == 13 {
            let init_mask = if flavor == Flavor::I286 {
                0x0FFF
            } else {
                0xFFFF
            };
            let want = if t.fina.regs[k].is_some() {
                want
            } else {
                want & init_mask | 2
            };
            (want & flag_mask, got & flag_mask)
        } else {
            (want, got)
        };
        if w != g {
            errs.push(format!("{name}: want {w:04x} got {g:04x}"));
        }
    }
    // Pushed FLAGS images contain undefined flags: mask them like FLAGS itself.
    let mut masked: HashSet<u32> = HashSet::new();
    // The FLAGS image sits 4 bytes above the final stack top (IP and CS were pushed after it).
    // The 286 files record its address in `EXCP`, but rounded down to an even bus address, so
    // derive it from the final SS:SP in both sets.
    let delivered = match flavor {
        Flavor::I286 => t.exception.is_some(),
        Flavor::I8086 => t.fina.regs[4] == Some(0) && t.fina.regs[12] == Some(0x400),
    };
    let flags_at = delivered.then(|| {
        let ss = t.fina.regs[5].or(t.init.regs[5]).unwrap_or(0) as u32;
        let sp = t.fina.regs[8].or(t.init.regs[8]).unwrap_or(0) as u32;
        let wrap = if flavor == Flavor::I8086 {
            0xFFFFF
        } else {
            0xFFFFFF
        };
        ((ss << 4) + ((sp + 4) & 0xFFFF)) & wrap
    });
    if let Some(a) = flags_at {
        masked.insert(a);
        masked.insert(a + 1);
    }
    for &(a, want) in &t.fina.ram {
        let got = bus.peek(a);
        let (w, g) = if masked.contains(&a) {
            let m = if masked.contains(&(a.wrapping_sub(1))) {
                (flag_mask >> 8) as u8
            } else {
                flag_mask as u8
            };
            (want & m, got & m)
        } else {
            (want, got)
        };
        if w != g {
            errs.push(format!("[{a:06x}]: want {w:02x} got {g:02x}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join(", "))
    }
}

/// Options for a suite run.
pub struct SuiteOptions {
    /// CPU model to test.
    pub model: CpuModel,
    /// Only files whose stem starts with this (case-insensitive), e.g. `F6` or `F6.6`.
    pub filter: Option<String>,
    /// Failures to describe per file.
    pub show_failures: usize,
    /// Worker threads.
    pub threads: usize,
}

/// Finds the data directory inside a suite folder (`v1_binary`, `v1_real_mode`, or itself).
fn data_dir(dir: &Path) -> PathBuf {
    for sub in ["v1_binary", "v1_real_mode"] {
        if dir.join(sub).is_dir() {
            return dir.join(sub);
        }
    }
    dir.to_path_buf()
}

fn metadata_path(dir: &Path) -> PathBuf {
    for p in [
        "v1/metadata.json",
        "v1_real_mode/metadata.json",
        "metadata.json",
    ] {
        if dir.join(p).exists() {
            return dir.join(p);
        }
    }
    dir.join("metadata.json")
}

fn revoked(dir: &Path) -> HashSet<[u8; 20]> {
    let Ok(text) = std::fs::read_to_string(dir.join("revocation_list.txt")) else {
        return HashSet::new();
    };
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.len() != 40 || l.starts_with('#') {
                return None;
            }
            let mut h = [0u8; 20];
            for (k, b) in h.iter_mut().enumerate() {
                *b = u8::from_str_radix(&l[2 * k..2 * k + 2], 16).ok()?;
            }
            Some(h)
        })
        .collect()
}

/// Runs every (filtered) file of a suite folder, calling `report` per file in name order.
pub fn run_suite(
    dir: &Path,
    opts: &SuiteOptions,
    mut report: impl FnMut(&FileResult),
) -> anyhow::Result<(u64, u64)> {
    let data = data_dir(dir);
    let meta = Metadata::load(&metadata_path(dir))?;
    let revoked = revoked(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)
        .map_err(|e| anyhow::anyhow!("{}: {e}", data.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.to_uppercase().contains(".MOO"))
        })
        .collect();
    files.sort();
    if let Some(f) = &opts.filter {
        let f = f.to_uppercase();
        files.retain(|p| stem(p).to_uppercase().starts_with(&f));
    }
    if files.is_empty() {
        anyhow::bail!("{}: no MOO test files found", data.display());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![None; files.len()]);
    let first_error = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.threads.max(1) {
            s.spawn(|| {
                let mut bus = TestBus::new();
                let mut cpu = Cpu::new(opts.model);
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = files.get(k) else { break };
                    match run_file(path, &meta, &revoked, &mut cpu, &mut bus, opts) {
                        Ok(r) => results.lock().unwrap_or_else(|e| e.into_inner())[k] = Some(r),
                        Err(e) => {
                            first_error
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let (mut pass, mut fail) = (0, 0);
    for r in results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
    {
        pass += r.passed;
        fail += r.failed;
        report(&r);
    }
    Ok((pass, fail))
}

fn stem(p: &Path) -> String {
    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    n.split(".MOO")
        .next()
        .unwrap_or(n)
        .split(".moo")
        .next()
        .unwrap_or(n)
        .to_string()
}

fn run_file(
    path: &Path,
    meta: &Metadata,
    revoked: &HashSet<[u8; 20]>,
    cpu: &mut Cpu,
    bus: &mut TestBus,
    opts: &SuiteOptions,
) -> anyhow::Result<FileResult> {
    let (cpu_id, tests) = moo::read_file(path)?;
    let flavor = if cpu_id.contains("286") {
        Flavor::I286
    } else {
        Flavor::I8086
    };
    let name = stem(path);
    let mask = meta.mask(&name);
    let mut r = FileResult {
        name: name.clone(),
        ..Default::default()
    };
    for (k, t) in tests.iter().enumerate() {
        if t.hash.is_some_and(|h| revoked.contains(&h)) {
            r.revoked += 1;
            continue;
        }
        match run_test(cpu, bus, t, flavor, mask) {
            Ok(()) => r.passed += 1,
            Err(e) => {
                r.failed += 1;
                if r.failures.len() < opts.show_failures {
                    let bytes: Vec<String> = t.bytes.iter().map(|b| format!("{b:02x}")).collect();
                    let init: Vec<String> = t
                        .init
                        .regs
                        .iter()
                        .zip(REG_NAMES)
                        .filter_map(|(v, n)| v.map(|v| format!("{n}={v:04x}")))
                        .collect();
                    r.failures.push(format!(
                        "#{k} `{}` [{}]: {e}\n        init {}",
                        t.name,
                        bytes.join(" "),
                        init.join(" ")
                    ));
                }
            }
        }
    }
    Ok(r)
}

//! `upstack synth --check` as a whole process, both envs (start-up, env
//! files, handler fingerprints, synth, validation, comparing with
//! synth-out/). Target: <= 20 ms on 2 cores.
//!
//! cargo bench --bench synth_process        (the release binary)
//! cargo test --bench synth_process         (the debug binary `cargo run` uses: an upper bound)

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 30;

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_upstack"))
            .args(["synth", "--check"])
            .current_dir(root)
            .output()
            .unwrap();
        times.push(started.elapsed());
        assert!(output.status.success(), "{output:?}");
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "synth --check, both envs, whole process: median {:.1} ms (min {:.1}, max {:.1}) over {RUNS} runs",
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1]),
    );
}

//! `cargo bench -p upstack-stack --bench synth`: in-process synth time for
//! both envs (parse config, check the pipeline, build, validate, render JSON).
//! Fingerprinting the handlers (file IO) is the toolkit's and not included.
//! Target: under 20 ms for both envs together.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const ENVS: [(&str, &str); 2] = [
    ("dev", include_str!("../../envs/dev.toml")),
    ("prod", include_str!("../../envs/prod.toml")),
];

fn synth_both(assets: &BTreeMap<String, String>) -> usize {
    let mut bytes = 0;
    for (env, text) in ENVS {
        let file = format!("envs/{env}.toml");
        let config = match upstack_stack::config::parse(&file, text) {
            Ok(config) => config,
            Err(error) => panic!("{error}"),
        };
        match upstack_stack::synthesize(env, &config, assets) {
            Ok(plan) => bytes += plan.template.to_pretty_string().len(),
            Err(error) => panic!("{error}"),
        }
    }
    bytes
}

fn main() {
    let assets: BTreeMap<String, String> = upstack_stack::pipeline::handlers()
        .iter()
        .map(|h| {
            (
                (*h).to_owned(),
                format!("assets/{h}-arm64-{}.zip", "0".repeat(64)),
            )
        })
        .collect();
    // Warm up (allocator, page faults), then time individual runs.
    for _ in 0..5 {
        black_box(synth_both(&assets));
    }
    let runs = 200;
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(synth_both(black_box(&assets)));
            start.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[runs / 2];
    let p95 = samples[runs * 95 / 100];
    let max = samples[runs - 1];
    let bytes = synth_both(&assets);
    println!("synth dev+prod in-process ({runs} runs, {bytes} bytes of JSON per run)");
    println!(
        "  median {:.3} ms   p95 {:.3} ms   max {:.3} ms   (target < 20 ms)",
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    if median > Duration::from_millis(20) {
        eprintln!("median above the 20 ms target");
        std::process::exit(1);
    }
}

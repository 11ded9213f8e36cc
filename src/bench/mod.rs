//! Synthetic workloads for the benchmarks (`benches/`) and the load harness
//! (`ridealong-bench …`, `src/bin/ridealong-bench/`): mentors with commute windows and seekers' requests,
//! generated from a seed so every run measures the same data.

pub mod workload;

//! A criterion measurement of the benchmark thread's **CPU time** (the scheduler's
//! `sum_exec_runtime`, nanoseconds, from `/proc/thread-self/schedstat`; Linux only), selected
//! with `MIGRATIONFHE_BENCH_CPU_TIME=1`. On a shared machine, wall time also counts the time the
//! thread waits for a core; CPU time does not (cache and memory-bandwidth contention still
//! show). Single-threaded code only: other threads' time is not counted.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::Throughput;

/// CPU time of the calling thread, in nanoseconds.
pub struct CpuTime;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .expect("MIGRATIONFHE_BENCH_CPU_TIME needs Linux /proc/thread-self/schedstat")
}

/// Whether `MIGRATIONFHE_BENCH_CPU_TIME` asks for CPU time.
pub fn requested() -> bool {
    std::env::var("MIGRATIONFHE_BENCH_CPU_TIME").is_ok_and(|v| v == "1")
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (f, unit) = if typical < 1e3 {
            (1.0, "ns (cpu)")
        } else if typical < 1e6 {
            (1e-3, "µs (cpu)")
        } else if typical < 1e9 {
            (1e-6, "ms (cpu)")
        } else {
            (1e-9, "s (cpu)")
        };
        for v in values {
            *v *= f;
        }
        unit
    }
    fn scale_throughputs(&self, _: f64, _: &Throughput, values: &mut [f64]) -> &'static str {
        for v in values {
            *v = 1e9 / *v;
        }
        "elem/s (cpu)"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

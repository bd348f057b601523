//! A minimal metric registry: counter, gauge and histogram families keyed by label values.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// Separates label values in a family's key; cannot appear in valid UTF-8 label text we emit.
const KEY_SEP: char = '\u{1f}';

struct Desc {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
}

struct Family<T> {
    desc: Desc,
    series: RwLock<HashMap<String, Arc<T>>>,
}

impl<T> Family<T> {
    fn get_or_create(&self, values: &[&str], make: impl FnOnce() -> T) -> Arc<T> {
        let key = join_key(values);
        if let Some(s) = self.series.read().get(&key) {
            return s.clone();
        }
        self.series
            .write()
            .entry(key)
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }

    fn sorted(&self) -> Vec<(String, Arc<T>)> {
        let mut v: Vec<_> = self
            .series
            .read()
            .iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn header(&self, out: &mut String, kind: &str) {
        let _ = writeln!(out, "# HELP {} {}", self.desc.name, self.desc.help);
        let _ = writeln!(out, "# TYPE {} {}", self.desc.name, kind);
    }

    fn label_text(&self, key: &str, extra: Option<(&str, &str)>) -> String {
        let mut parts: Vec<String> = self
            .desc
            .labels
            .iter()
            .zip(key.split(KEY_SEP))
            .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
            .collect();
        if let Some((n, v)) = extra {
            parts.push(format!("{n}=\"{v}\""));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", parts.join(","))
        }
    }
}

fn join_key(values: &[&str]) -> String {
    let mut key = String::with_capacity(values.iter().map(|v| v.len() + 1).sum());
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            key.push(KEY_SEP);
        }
        key.push_str(v);
    }
    key
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A family of monotonically increasing counters.
#[derive(Clone)]
pub struct CounterFamily(Arc<Family<AtomicU64>>);

impl CounterFamily {
    /// Adds one to the series with these label values.
    pub fn inc(&self, values: &[&str]) {
        self.add(values, 1);
    }

    /// Adds `n` to the series with these label values.
    pub fn add(&self, values: &[&str], n: u64) {
        self.0
            .get_or_create(values, || AtomicU64::new(0))
            .fetch_add(n, Ordering::Relaxed);
    }

    /// The current value of a series (0 when it does not exist).
    pub fn get(&self, values: &[&str]) -> u64 {
        self.0
            .series
            .read()
            .get(&join_key(values))
            .map(|c| c.load(Ordering::Relaxed))
            .unwrap_or(0)
    }
}

/// A family of gauges that go up and down.
#[derive(Clone)]
pub struct GaugeFamily(Arc<Family<AtomicI64>>);

impl GaugeFamily {
    /// Sets the series with these label values.
    pub fn set(&self, values: &[&str], v: i64) {
        self.0
            .get_or_create(values, || AtomicI64::new(0))
            .store(v, Ordering::Relaxed);
    }

    /// Adds `delta` (may be negative) to the series.
    pub fn add(&self, values: &[&str], delta: i64) {
        self.0
            .get_or_create(values, || AtomicI64::new(0))
            .fetch_add(delta, Ordering::Relaxed);
    }
}

/// One histogram series: cumulative bucket counts are derived at render time.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: (0..bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        // Microsecond resolution keeps the sum in an atomic integer without a lock.
        self.sum_micros
            .fetch_add((v.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }
}

/// A family of histograms sharing bucket bounds.
#[derive(Clone)]
pub struct HistogramFamily(Arc<Family<Histogram>>, &'static [f64]);

impl HistogramFamily {
    /// Records one observation in the series with these label values.
    pub fn observe(&self, values: &[&str], v: f64) {
        let bounds = self.1;
        self.0
            .get_or_create(values, || Histogram::new(bounds))
            .observe(v);
    }
}

enum Entry {
    Counter(CounterFamily),
    Gauge(GaugeFamily),
    Histogram(HistogramFamily),
}

/// Holds metric families and renders them in registration order.
#[derive(Default)]
pub struct Registry {
    entries: RwLock<Vec<Entry>>,
}

impl Registry {
    fn family<T>(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Arc<Family<T>> {
        Arc::new(Family {
            desc: Desc { name, help, labels },
            series: RwLock::new(HashMap::new()),
        })
    }

    /// Registers a counter family; `name` must end in `_total`.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> CounterFamily {
        let f = CounterFamily(Self::family(name, help, labels));
        self.entries.write().push(Entry::Counter(f.clone()));
        f
    }

    /// Registers a gauge family.
    pub fn gauge(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> GaugeFamily {
        let f = GaugeFamily(Self::family(name, help, labels));
        self.entries.write().push(Entry::Gauge(f.clone()));
        f
    }

    /// Registers a histogram family with the given upper bucket bounds (ascending).
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        bounds: &'static [f64],
    ) -> HistogramFamily {
        let f = HistogramFamily(Self::family(name, help, labels), bounds);
        self.entries.write().push(Entry::Histogram(f.clone()));
        f
    }

    /// Renders all families in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        for e in self.entries.read().iter() {
            match e {
                Entry::Counter(CounterFamily(f)) => {
                    f.header(&mut out, "counter");
                    for (k, c) in f.sorted() {
                        let _ = writeln!(
                            out,
                            "{}{} {}",
                            f.desc.name,
                            f.label_text(&k, None),
                            c.load(Ordering::Relaxed)
                        );
                    }
                }
                Entry::Gauge(GaugeFamily(f)) => {
                    f.header(&mut out, "gauge");
                    for (k, g) in f.sorted() {
                        let _ = writeln!(
                            out,
                            "{}{} {}",
                            f.desc.name,
                            f.label_text(&k, None),
                            g.load(Ordering::Relaxed)
                        );
                    }
                }
                Entry::Histogram(HistogramFamily(f, _)) => {
                    f.header(&mut out, "histogram");
                    for (k, h) in f.sorted() {
                        let mut cumulative = 0;
                        for (b, n) in h.bounds.iter().zip(&h.buckets) {
                            cumulative += n.load(Ordering::Relaxed);
                            let le = format!("{b}");
                            let _ = writeln!(
                                out,
                                "{}_bucket{} {cumulative}",
                                f.desc.name,
                                f.label_text(&k, Some(("le", &le)))
                            );
                        }
                        let count = h.count.load(Ordering::Relaxed);
                        let _ = writeln!(
                            out,
                            "{}_bucket{} {count}",
                            f.desc.name,
                            f.label_text(&k, Some(("le", "+Inf")))
                        );
                        let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
                        let _ =
                            writeln!(out, "{}_sum{} {sum}", f.desc.name, f.label_text(&k, None));
                        let _ = writeln!(
                            out,
                            "{}_count{} {count}",
                            f.desc.name,
                            f.label_text(&k, None)
                        );
                    }
                }
            }
        }
        out
    }
}

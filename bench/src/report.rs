//! The one table the benchmark prints: every row beside the floor it is measured against
//! (a rate measured in the same run, on the same cores), the ratio, the target the issue
//! names and whether it was met. Absolute numbers swing with the machine; ratios do not.

use crate::harness::LoadResult;

/// What a row must reach.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// The ratio to the floor at least this.
    RatioAtLeast(f64),
    /// The ratio to the floor at most this (a slowdown bound).
    RatioAtMost(f64),
    /// The p99 latency at most this many milliseconds.
    P99AtMost(f64),
    /// The result itself at most this (memory, start-up time).
    AtMost(f64),
}

/// One measured row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    name: String,
    store: &'static str,
    result: f64,
    unit: &'static str,
    latency: Option<(f64, f64)>,
    floor: Option<(f64, String)>,
    target: Option<Target>,
}

impl Row {
    /// A row of `result` in `unit`, on `store`.
    pub(crate) fn new(name: impl Into<String>, result: f64, unit: &'static str) -> Self {
        Self {
            name: name.into(),
            store: "",
            result,
            unit,
            latency: None,
            floor: None,
            target: None,
        }
    }

    /// A rate row from a load window: requests (or flows) per second with p50/p99.
    pub(crate) fn load(name: impl Into<String>, result: &LoadResult, unit: &'static str) -> Self {
        Self::new(name, result.rate, unit).latency(result.p50_ms, result.p99_ms)
    }

    /// Adds p50 and p99 latency in milliseconds.
    pub(crate) fn latency(mut self, p50_ms: f64, p99_ms: f64) -> Self {
        self.latency = Some((p50_ms, p99_ms));
        self
    }

    /// The floor the row is compared with, and what that floor is.
    pub(crate) fn floor(mut self, value: f64, what: impl Into<String>) -> Self {
        self.floor = Some((value, what.into()));
        self
    }

    /// What the row must reach.
    pub(crate) fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// The result, for rows that compare with another row.
    pub(crate) fn result(&self) -> f64 {
        self.result
    }

    fn ratio(&self) -> Option<f64> {
        self.floor
            .as_ref()
            .map(|(floor, _)| self.result / floor.max(f64::MIN_POSITIVE))
    }

    fn met(&self) -> Option<bool> {
        let target = self.target?;
        Some(match target {
            Target::RatioAtLeast(bound) => self.ratio().is_some_and(|r| r >= bound),
            Target::RatioAtMost(bound) => self.ratio().is_some_and(|r| r <= bound),
            Target::P99AtMost(bound) => self.latency.is_some_and(|(_, p99)| p99 <= bound),
            Target::AtMost(bound) => self.result <= bound,
        })
    }

    fn line(&self) -> String {
        let (p50, p99) = self
            .latency
            .map_or(("".to_owned(), "".to_owned()), |(a, b)| {
                (format!("{a:.2}"), format!("{b:.2}"))
            });
        let floor = self.floor.as_ref().map_or(String::new(), |(value, what)| {
            format!("{} ({what})", number(*value))
        });
        let ratio = self.ratio().map_or(String::new(), |r| format!("{r:.2}"));
        let target = match self.target {
            None => String::new(),
            Some(Target::RatioAtLeast(b)) => format!("ratio ≥ {b}"),
            Some(Target::RatioAtMost(b)) => format!("ratio ≤ {b}"),
            Some(Target::P99AtMost(b)) => format!("p99 ≤ {b} ms"),
            Some(Target::AtMost(b)) => format!("≤ {} {}", number(b), self.unit),
        };
        let met = match self.met() {
            None => "",
            Some(true) => "yes",
            Some(false) => "**no**",
        };
        format!(
            "| {} | {} | {} {} | {p50} | {p99} | {floor} | {ratio} | {target} | {met} |",
            self.name,
            self.store,
            number(self.result),
            self.unit
        )
    }
}

/// A number as the table shows it: whole above 100, two decimals below.
fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The rows of one run, printed as one table at the end (and each to stderr as it is
/// measured, so a long run shows progress).
#[derive(Debug, Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
    /// The store the rows being measured now run on.
    store: &'static str,
}

impl Report {
    /// The rows added from now on are measured on `store` (SQLite, PostgreSQL).
    pub(crate) fn on(&mut self, store: &'static str) {
        self.store = store;
    }

    /// Records a row, on the current store.
    pub(crate) fn add(&mut self, mut row: Row) {
        row.store = self.store;
        eprintln!("{}", row.line());
        self.rows.push(row);
    }

    /// How many rows missed their target.
    pub(crate) fn missed(&self) -> usize {
        self.rows.iter().filter(|r| r.met() == Some(false)).count()
    }

    /// Prints the table.
    pub(crate) fn print(&self) {
        println!("| row | store | result | p50 ms | p99 ms | floor | ratio | target | met |");
        println!("|---|---|---:|---:|---:|---|---:|---|---|");
        for row in &self.rows {
            println!("{}", row.line());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_meets_its_target_by_its_ratio_latency_or_value() {
        let row = Row::new("cc", 700.0, "tokens/s").floor(1000.0, "raw");
        assert_eq!(
            row.clone().target(Target::RatioAtLeast(0.7)).met(),
            Some(true)
        );
        assert_eq!(
            row.clone().target(Target::RatioAtLeast(0.71)).met(),
            Some(false)
        );
        assert_eq!(
            row.clone().target(Target::RatioAtMost(0.7)).met(),
            Some(true)
        );
        assert_eq!(row.met(), None);
        let slow = Row::new("x", 1.0, "flows/s").latency(1.0, 6.0);
        assert_eq!(slow.target(Target::P99AtMost(5.0)).met(), Some(false));
        let rss = Row::new("idle RSS", 12.5, "MB").target(Target::AtMost(20.0));
        assert_eq!(rss.met(), Some(true));
        assert!(rss.line().contains("| yes |"));
    }
}

//! The printed report: measurements against their references and targets, then where the time
//! and memory went. Pure formatting; every number is measured by the caller.

use std::fmt::Write;
use std::time::Duration;

/// Ratio targets from the issue that asked for this benchmark.
pub(crate) const TIME_RATIO_TARGET: f64 = 1.5;
pub(crate) const MEMORY_RATIO_TARGET: f64 = 3.0;

/// One download format measured end to end, `runs` times.
pub(crate) struct FormatResult {
    /// What a reader sees: `Redash JSON`, `CSV`.
    pub(crate) label: &'static str,
    /// What the reference ran: `psql \copy (text)`.
    pub(crate) reference_label: &'static str,
    pub(crate) trials: Vec<Trial>,
    pub(crate) reference: Vec<Duration>,
}

/// One end-to-end run: POST → job done, then the body read to its end.
#[derive(Debug, Clone)]
pub(crate) struct Trial {
    pub(crate) run: Duration,
    pub(crate) download: Duration,
    pub(crate) body_bytes: u64,
    pub(crate) run_cpu: Duration,
    pub(crate) download_cpu: Duration,
    /// Peak RSS while running and while downloading, when the kernel let us tell them apart.
    pub(crate) run_peak: Option<u64>,
    pub(crate) download_peak: Option<u64>,
    /// Compressed size of the stored result.
    pub(crate) byte_size: u64,
}

impl Trial {
    pub(crate) fn total(&self) -> Duration {
        self.run + self.download
    }
}

impl FormatResult {
    /// The trial with the median total time.
    fn median_trial(&self) -> &Trial {
        let mut sorted: Vec<&Trial> = self.trials.iter().collect();
        sorted.sort_by_key(|trial| trial.total());
        sorted[sorted.len() / 2]
    }

    fn median_reference(&self) -> Duration {
        median(&self.reference)
    }
}

/// What the memory measurement found.
pub(crate) struct Memory {
    /// Resident memory after setup, before the first run, and its anonymous and file-backed parts.
    pub(crate) idle_rss: u64,
    pub(crate) idle_anonymous: u64,
    pub(crate) idle_file_backed: u64,
    /// Highest resident memory over all runs.
    pub(crate) peak_rss: u64,
    /// Median compressed size of the results the runs stored.
    pub(crate) compressed: u64,
}

/// The whole setting of a run, for the heading.
pub(crate) struct Setting {
    pub(crate) n_rows: u64,
    pub(crate) runs: usize,
}

/// The report as text: the verdict table, then the breakdown.
pub(crate) fn render(setting: &Setting, formats: &[FormatResult], memory: &Memory) -> String {
    let mut out = String::new();
    let rows = group_thousands(setting.n_rows);
    let _ = writeln!(out, "Dashi end-to-end benchmark: {rows} rows x 5 columns (int, float, text, timestamp, bool)");
    let _ = writeln!(
        out,
        "from PostgreSQL; median of {} runs, each POST -> job done -> body read to its end, max_age 0, distinct text\n",
        setting.runs
    );

    let mut verdicts = vec![row(&["measurement", "dashi", "reference", "its time", "ratio", "target", "verdict"])];
    for format in formats {
        let trial = format.median_trial();
        let reference = format.median_reference();
        let ratio = trial.total().as_secs_f64() / reference.as_secs_f64();
        verdicts.push(row(&[
            &format!("{}: POST -> downloaded", format.label),
            &seconds(trial.total()),
            format.reference_label,
            &seconds(reference),
            &format!("{ratio:.2}"),
            &format!("<= {TIME_RATIO_TARGET:.1}"),
            verdict(ratio, TIME_RATIO_TARGET),
        ]));
    }
    let memory_ratio = memory.peak_rss as f64 / memory.compressed as f64;
    verdicts.push(row(&[
        "dashi peak RSS / compressed result",
        &mebibytes(memory.peak_rss),
        "compressed result",
        &mebibytes(memory.compressed),
        &format!("{memory_ratio:.2}"),
        &format!("<= {MEMORY_RATIO_TARGET:.1}"),
        verdict(memory_ratio, MEMORY_RATIO_TARGET),
    ]));
    write_table(&mut out, &verdicts);

    let _ = writeln!(out, "\nWhere the time goes (the median run of each format):");
    let mut breakdown = vec![row(&[
        "format",
        "POST -> done",
        "download",
        "body",
        "dashi CPU run",
        "dashi CPU download",
        "peak RSS run",
        "peak RSS download",
    ])];
    for format in formats {
        let trial = format.median_trial();
        let peak = |value: Option<u64>| value.map_or_else(|| "n/a".to_owned(), mebibytes);
        breakdown.push(row(&[
            format.label,
            &seconds(trial.run),
            &seconds(trial.download),
            &mebibytes(trial.body_bytes),
            &seconds(trial.run_cpu),
            &seconds(trial.download_cpu),
            &peak(trial.run_peak),
            &peak(trial.download_peak),
        ]));
    }
    write_table(&mut out, &breakdown);

    let _ = writeln!(out, "\nEvery run (POST -> done + download = total; reference):");
    for format in formats {
        let totals: Vec<String> = format
            .trials
            .iter()
            .map(|trial| format!("{} + {} = {}", seconds(trial.run), seconds(trial.download), seconds(trial.total())))
            .collect();
        let references: Vec<String> = format.reference.iter().copied().map(seconds).collect();
        let _ = writeln!(out, "  {:<12} {}; {}", format.label, totals.join(", "), references.join(", "));
    }
    let _ = writeln!(
        out,
        "\ndashi RSS idle after setup {} ({} anonymous, {} file-backed), peak over all runs {};",
        mebibytes(memory.idle_rss),
        mebibytes(memory.idle_anonymous),
        mebibytes(memory.idle_file_backed),
        mebibytes(memory.peak_rss),
    );
    let growth = memory.peak_rss.saturating_sub(memory.idle_rss);
    let _ = writeln!(
        out,
        "the runs added {} over idle, {:.2}x the compressed result of {} ({} bytes)",
        mebibytes(growth),
        growth as f64 / memory.compressed as f64,
        mebibytes(memory.compressed),
        memory.compressed
    );
    out
}

/// The middle value (the upper middle of an even count); zero for none.
pub(crate) fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio <= target { "PASS" } else { "MISS" }
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|cell| (*cell).to_owned()).collect()
}

/// Left-aligned columns two spaces apart, a rule under the heading row.
fn write_table(out: &mut String, rows: &[Vec<String>]) {
    let n_columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n_columns)
        .map(|column| rows.iter().filter_map(|row| row.get(column)).map(|cell| cell.chars().count()).max().unwrap_or(0))
        .collect();
    for (row_idx, cells) in rows.iter().enumerate() {
        let line: Vec<String> =
            cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if row_idx == 0 {
            let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn group_thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (digit_idx, digit) in digits.chars().enumerate() {
        if digit_idx > 0 && (digits.len() - digit_idx).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(run_ms: u64, download_ms: u64) -> Trial {
        Trial {
            run: Duration::from_millis(run_ms),
            download: Duration::from_millis(download_ms),
            body_bytes: 1024 * 1024,
            run_cpu: Duration::from_millis(run_ms),
            download_cpu: Duration::from_millis(download_ms),
            run_peak: Some(8 * 1024 * 1024),
            download_peak: None,
            byte_size: 1024 * 1024,
        }
    }

    #[test]
    fn median_takes_the_middle_of_unsorted_values() {
        let values = [3, 1, 2].map(Duration::from_secs);
        assert_eq!(median(&values), Duration::from_secs(2));
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(1_000_000), "1,000,000");
        assert_eq!(group_thousands(12_345), "12,345");
        assert_eq!(group_thousands(999), "999");
    }

    #[test]
    fn a_ratio_at_the_target_passes_and_above_it_misses() {
        assert_eq!(verdict(1.5, TIME_RATIO_TARGET), "PASS");
        assert_eq!(verdict(1.51, TIME_RATIO_TARGET), "MISS");
    }

    #[test]
    fn the_report_judges_the_median_run_against_the_median_reference() {
        let json = FormatResult {
            label: "Redash JSON",
            reference_label: "psql \\copy (text)",
            trials: vec![trial(900, 900), trial(500, 500), trial(400, 400)],
            reference: [1000, 400, 800].map(Duration::from_millis).to_vec(),
        };
        let memory = Memory { idle_rss: 1 << 20, idle_anonymous: 1 << 19, idle_file_backed: 1 << 19, peak_rss: 4 << 20, compressed: 2 << 20 };
        let text = render(&Setting { n_rows: 1_000_000, runs: 3 }, &[json], &memory);
        // Median run 1.000 s against the median reference 0.800 s.
        let line = text.lines().find(|line| line.starts_with("Redash JSON: POST")).expect("a verdict line");
        assert!(line.contains("1.000 s") && line.contains("0.800 s") && line.contains("1.25") && line.ends_with("PASS"), "{line}");
        let memory_line = text.lines().find(|line| line.starts_with("dashi peak RSS")).expect("a memory line");
        assert!(memory_line.contains("2.00") && memory_line.ends_with("PASS"), "{memory_line}");
        assert!(text.contains("1,000,000 rows"), "{text}");
        assert!(text.contains("the runs added 3.0 MiB over idle, 1.50x the compressed result"), "{text}");
    }
}

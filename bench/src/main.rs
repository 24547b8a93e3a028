//! Dashi's end-to-end benchmark: a million PostgreSQL rows through `dashi`, against `psql \copy`.
//!
//! `cargo run --release -p dashi-bench` builds `dashi` in release mode, starts a PostgreSQL with a
//! table of 1,000,000 rows × 5 columns (int, float, text, timestamp, bool), and measures in one run:
//!
//! - the reference: `psql \copy (SELECT * FROM t) TO '/dev/null'`, in text and in CSV;
//! - Dashi: `POST /api/query_results` → job done → the whole Redash JSON body of
//!   `GET /api/query_results/<id>` read, and the same with the `.csv` download;
//! - the `dashi` process's peak RSS against the compressed size of the stored result.
//!
//! It prints each ratio with the target (time ≤ 1.5×, peak RSS ≤ 3× the compressed
//! result) and PASS or MISS; a miss is a finding, not a failure, so the exit status only says
//! whether the benchmark could run. Each figure is the median of `--runs` runs; every Dashi run
//! sends `max_age: 0` and a text of its own, so neither the cache nor job dedupe can skip work.
//!
//! Read `server` (driving `dashi` over HTTP) and `warehouse` (the table and the reference) first.

mod report;
mod server;
mod usage;
mod warehouse;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

use crate::report::{FormatResult, Memory, Setting, Trial};
use crate::server::Dashi;
use crate::usage::Process;
use crate::warehouse::{CopyFormat, Warehouse};

/// Measures Dashi end to end against psql \copy and prints the ratios with their targets.
#[derive(Debug, Parser)]
#[command(name = "dashi-bench")]
struct Args {
    /// Rows in the benchmark table.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Runs of each measurement; the report gives the median.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    runs: u16,
    /// Use this `dashi` binary instead of building it in release mode.
    #[arg(long, value_name = "PATH")]
    dashi: Option<PathBuf>,
}

/// The two downloads measured, each with the reference it is held against.
struct Format {
    label: &'static str,
    /// Appended to `/api/query_results/<id>`.
    extension: &'static str,
    copy: CopyFormat,
    reference_label: &'static str,
}

const FORMATS: [Format; 2] = [
    Format { label: "Redash JSON", extension: "", copy: CopyFormat::Text, reference_label: "psql \\copy (text)" },
    Format { label: "CSV", extension: ".csv", copy: CopyFormat::Csv, reference_label: "psql \\copy (csv)" },
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // reqwest is built without a TLS provider of its own; the benchmark only speaks plain HTTP to
    // loopback, but building a client needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let binary = match args.dashi {
        Some(path) => path,
        None => {
            eprintln!("building dashi in release mode");
            server::build_release()?
        }
    };
    let runs = usize::from(args.runs);

    eprintln!("starting PostgreSQL and filling a table of {} rows", args.rows);
    let warehouse = Warehouse::start(args.rows).await?;
    let mut references = Vec::new();
    for format in &FORMATS {
        let mut times = Vec::with_capacity(runs);
        for run_idx in 0..runs {
            let elapsed = warehouse.copy_to_null(format.copy).await?;
            eprintln!("  {} run {}: {:.3} s", format.reference_label, run_idx + 1, elapsed.as_secs_f64());
            times.push(elapsed);
        }
        references.push(times);
    }

    eprintln!("starting {}", binary.display());
    let dashi = Dashi::start(&binary).await?;
    let measured = measure_dashi(&dashi, &warehouse, args.rows, runs, references).await;
    if measured.is_err() {
        eprintln!("dashi's last log lines:\n{}", dashi.log_tail());
    }
    dashi.stop().await?;
    drop(warehouse);
    let (formats, memory) = measured?;

    let text = report::render(&Setting { n_rows: args.rows, runs }, &formats, &memory);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).context("writing the report")?;
    Ok(())
}

/// Runs every format `runs` times through `dashi` and measures its memory along the way.
async fn measure_dashi(
    dashi: &Dashi,
    warehouse: &Warehouse,
    n_rows: u64,
    runs: usize,
    references: Vec<Vec<Duration>>,
) -> anyhow::Result<(Vec<FormatResult>, Memory)> {
    let data_source_id = dashi.add_postgres(warehouse.port(), warehouse::DATABASE).await?;
    let process = dashi.process()?;
    let idle_rss = process.rss()?;
    let (idle_anonymous, idle_file_backed) = process.rss_parts()?;
    let mut peak_rss = process.peak_rss()?;
    let mut formats = Vec::new();
    for (format, reference) in FORMATS.iter().zip(references) {
        let mut trials = Vec::with_capacity(runs);
        for run_idx in 0..runs {
            let trial = measure_once(dashi, process, format, data_source_id, n_rows, run_idx).await?;
            eprintln!(
                "  dashi {} run {}: {:.3} s to done + {:.3} s download",
                format.label,
                run_idx + 1,
                trial.run.as_secs_f64(),
                trial.download.as_secs_f64()
            );
            peak_rss = peak_rss.max(trial.run_peak.unwrap_or(0)).max(trial.download_peak.unwrap_or(0));
            trials.push(trial);
        }
        formats.push(FormatResult { label: format.label, reference_label: format.reference_label, trials, reference });
    }
    // Without per-phase resets the kernel's own peak covers every run; with them it covers the
    // last phase, which the maximum above already holds.
    peak_rss = peak_rss.max(process.peak_rss()?);
    let mut sizes: Vec<u64> = formats.iter().flat_map(|format| &format.trials).map(|trial| trial.byte_size).collect();
    sizes.sort_unstable();
    let compressed = sizes[sizes.len() / 2];
    Ok((formats, Memory { idle_rss, idle_anonymous, idle_file_backed, peak_rss, compressed }))
}

/// One end-to-end run of `format`: POST → job done, then the download, each with its CPU time and
/// (where the kernel allows a reset) its own peak RSS.
async fn measure_once(
    dashi: &Dashi,
    process: Process,
    format: &Format,
    data_source_id: i64,
    n_rows: u64,
    run_idx: usize,
) -> anyhow::Result<Trial> {
    // A leading comment is part of Redash's query hash (only /* */ comments are dropped), so each
    // run is a query of its own, and wrapping the text cannot comment out a closing parenthesis.
    let sql = format!("-- dashi-bench {} run {}\nSELECT * FROM {}", format.label, run_idx + 1, warehouse::TABLE);

    let phases_separate = process.reset_peak();
    let cpu_before = process.cpu_time()?;
    let run = dashi.run(&sql, data_source_id).await?;
    let cpu_after_run = process.cpu_time()?;
    let run_peak = if phases_separate { Some(process.peak_rss()?) } else { None };

    let phases_separate = process.reset_peak();
    let download = dashi.download(&format!("/api/query_results/{}{}", run.result_id, format.extension)).await?;
    let cpu_after_download = process.cpu_time()?;
    let download_peak = if phases_separate { Some(process.peak_rss()?) } else { None };

    let stored = dashi.stored_result(run.result_id).await?;
    if u64::try_from(stored.row_count).ok() != Some(n_rows) {
        bail!("result {} holds {} rows, not {n_rows}", run.result_id, stored.row_count);
    }
    // Texts hold no newlines, so a CSV line is a row; the header is one more.
    if format.copy_is_csv() && download.n_lines != n_rows + 1 {
        bail!("the CSV download has {} lines for {n_rows} rows", download.n_lines);
    }
    Ok(Trial {
        run: run.elapsed,
        download: download.elapsed,
        body_bytes: download.n_bytes,
        run_cpu: cpu_after_run.saturating_sub(cpu_before),
        download_cpu: cpu_after_download.saturating_sub(cpu_after_run),
        run_peak,
        download_peak,
        byte_size: u64::try_from(stored.byte_size).context("a negative byte_size")?,
    })
}

impl Format {
    fn copy_is_csv(&self) -> bool {
        matches!(self.copy, CopyFormat::Csv)
    }
}

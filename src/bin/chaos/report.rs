//! What a run leaves in its output directory: the history, the faults, the
//! anomalies, a summary with throughput and latency, and a timeline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::Result;
use hdrhistogram::Histogram;

use crate::history::{json_string, Op, Outcome};
use crate::nemesis::Event;

pub fn write_all(
    dir: &Path,
    history: &[Op],
    faults: &[Event],
    anomalies: &[String],
    secs: f64,
    extra: &[(String, String)],
) -> Result<()> {
    let mut h = String::new();
    for op in history {
        h.push_str(&op.to_json());
        h.push('\n');
    }
    fs::write(dir.join("history.jsonl"), h)?;

    let mut f = String::new();
    for e in faults {
        let _ = writeln!(
            f,
            "{{\"at_ns\":{},\"nemesis\":\"{}\",\"phase\":\"{}\",\"what\":{}}}",
            e.at,
            e.nemesis,
            e.phase,
            json_string(&e.what)
        );
    }
    fs::write(dir.join("faults.jsonl"), f)?;

    let mut a = anomalies.join("\n");
    if !a.is_empty() {
        a.push('\n');
    }
    fs::write(dir.join("anomalies.txt"), a)?;

    fs::write(
        dir.join("summary.json"),
        summary(history, anomalies, secs, extra),
    )?;
    fs::write(dir.join("timeline.svg"), timeline(history, faults, secs))?;
    Ok(())
}

/// The longest stretch, in nanoseconds, between acknowledged writes of
/// the workers: how long the faults kept the cluster from taking writes.
pub fn longest_write_outage(history: &[Op]) -> u64 {
    let mut acks: Vec<u64> = history
        .iter()
        .filter(|o| o.worker != usize::MAX && o.outcome == Outcome::Ok && !o.f.is_read())
        .filter_map(|o| o.ret)
        .collect();
    acks.sort_unstable();
    acks.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
}

fn summary(history: &[Op], anomalies: &[String], secs: f64, extra: &[(String, String)]) -> String {
    let mut per_f: BTreeMap<&str, (u64, u64, u64, Histogram<u64>)> = BTreeMap::new();
    for op in history.iter().filter(|o| o.worker != usize::MAX) {
        let e = per_f.entry(op.f.name()).or_insert_with(|| {
            (
                0,
                0,
                0,
                Histogram::new_with_bounds(1, 600_000_000, 2).expect("bounds"),
            )
        });
        match op.outcome {
            Outcome::Ok => {
                e.0 += 1;
                if let Some(r) = op.ret {
                    let _ = e.3.record(((r - op.call) / 1000).max(1));
                }
            }
            Outcome::Fail => e.1 += 1,
            Outcome::Info => e.2 += 1,
        }
    }
    let mut s = String::from("{\n");
    let _ = writeln!(s, "  \"valid\": {},", anomalies.is_empty());
    let _ = writeln!(s, "  \"anomalies\": {},", anomalies.len());
    let _ = writeln!(s, "  \"seconds\": {secs:.1},");
    for (k, v) in extra {
        let _ = writeln!(s, "  {}: {},", json_string(k), v);
    }
    let ok: u64 = per_f.values().map(|v| v.0).sum();
    let _ = writeln!(s, "  \"ok_ops_per_s\": {:.1},", ok as f64 / secs.max(0.001));
    let _ = writeln!(
        s,
        "  \"longest_write_outage_s\": {:.3},",
        longest_write_outage(history) as f64 / 1e9
    );
    s.push_str("  \"ops\": {\n");
    let n = per_f.len();
    for (i, (f, (ok, fail, info, hist))) in per_f.iter().enumerate() {
        let _ = write!(
            s,
            "    \"{f}\": {{\"ok\": {ok}, \"fail\": {fail}, \"info\": {info}, \"latency_us\": {{\"p50\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}}}}}",
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.value_at_quantile(0.999),
            hist.max()
        );
        s.push_str(if i + 1 < n { ",\n" } else { "\n" });
    }
    s.push_str("  }\n}\n");
    s
}

/// Operations as short marks per worker lane (green ok, red failed, orange
/// unknown), faults as shaded bands with their labels.
fn timeline(history: &[Op], faults: &[Event], secs: f64) -> String {
    let workers: Vec<usize> = {
        let mut w: Vec<usize> = history
            .iter()
            .map(|o| o.worker)
            .filter(|&w| w != usize::MAX)
            .collect();
        w.sort_unstable();
        w.dedup();
        w
    };
    let (left, top, lane, width) = (60.0, 52.0, 14.0, 1200.0);
    let height = top + lane * workers.len() as f64 + 60.0;
    let x = |ns: u64| left + (ns as f64 / 1e9) / secs.max(0.001) * width;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"10\">",
        left + width + 20.0
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    // Faults: a band from each start to the matching heal.
    let mut open: BTreeMap<&str, (u64, String)> = BTreeMap::new();
    let mut row = 0;
    for e in faults {
        match e.phase {
            "start" => {
                open.insert(e.nemesis, (e.at, e.what.clone()));
            }
            "heal" => {
                if let Some((from, what)) = open.remove(e.nemesis) {
                    // A solid bar in the fault lane, and a light band over
                    // the workers.
                    let _ = writeln!(
                        s,
                        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" fill=\"#4455cc\"><title>{}</title></rect>",
                        x(from),
                        top - 12.0,
                        (x(e.at) - x(from)).max(1.0),
                        xml(&what)
                    );
                    let _ = writeln!(
                        s,
                        "<rect x=\"{:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#4455cc\" opacity=\"0.12\"><title>{}</title></rect>",
                        x(from),
                        (x(e.at) - x(from)).max(1.0),
                        lane * workers.len() as f64,
                        xml(&what)
                    );
                    let _ = writeln!(
                        s,
                        "<text x=\"{:.1}\" y=\"{}\">{}</text>",
                        x(from),
                        12 + 12 * (row % 2),
                        xml(&format!("{}: {}", e.nemesis, what))
                    );
                    row += 1;
                }
            }
            _ => {
                let _ = writeln!(
                    s,
                    "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{1}\" stroke=\"black\"><title>{2}</title></line>",
                    x(e.at),
                    top + lane * workers.len() as f64,
                    xml(&e.what)
                );
            }
        }
    }
    let _ = writeln!(s, "<text x=\"4\" y=\"{:.1}\">faults</text>", top - 4.0);
    for (li, w) in workers.iter().enumerate() {
        let y = top + lane * li as f64;
        let _ = writeln!(s, "<text x=\"4\" y=\"{:.1}\">worker {w}</text>", y + 10.0);
        for op in history.iter().filter(|o| o.worker == *w) {
            let color = match op.outcome {
                Outcome::Ok => "#2a2",
                Outcome::Fail => "#d22",
                Outcome::Info => "#f90",
            };
            let end = op.ret.unwrap_or(op.call + 1_000_000);
            let _ = writeln!(
                s,
                "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{color}\"/>",
                x(op.call),
                y + 2.0,
                (x(end) - x(op.call)).max(0.5),
                lane - 4.0
            );
        }
    }
    let axis = top + lane * workers.len() as f64 + 16.0;
    let step = if secs > 120.0 {
        30
    } else if secs > 30.0 {
        10
    } else {
        5
    };
    let mut t = 0;
    while (t as f64) <= secs {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{axis}\">{t}s</text>",
            x(t as u64 * 1_000_000_000)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"{:.1}\">green: ok, red: failed (nothing done), orange: unknown outcome; bands: faults</text>",
        axis + 20.0
    );
    s.push_str("</svg>\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

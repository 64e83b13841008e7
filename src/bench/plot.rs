//! The bench chart, as hand-written SVG: two panels side by side, throughput and speed-up
//! against the worker count, each with the ideal (linear) line and a marker at the core
//! count. A plotting crate would be larger than these hundred lines and would pull in font
//! handling; SVG text is rendered by whatever shows the file.

use std::fmt::Write;

use super::BenchReport;

const W: f64 = 1000.0;
const H: f64 = 480.0;
const TOP: f64 = 88.0;
const BOTTOM: f64 = 390.0;
const PANEL_W: f64 = 370.0;
const LEFTS: [f64; 2] = [80.0, 590.0];

const MEASURED: &str = "#1f77b4";
const IDEAL: &str = "#888888";
const CORES: &str = "#d62728";

/// A step of 1, 2 or 5 times a power of ten giving about `n` ticks up to `max`.
fn nice_step(max: f64, n: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fmt_tick(v: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{v:.0}")
    } else if step >= 0.1 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One panel's data: per row (jobs, median, low, high) and the ideal value at `jobs`.
struct Panel<'a> {
    id: &'a str,
    title: &'a str,
    y_label: &'a str,
    points: Vec<(f64, f64, f64, f64)>,
    ideal: Box<dyn Fn(f64) -> f64 + 'a>,
    /// Point labels (efficiency), drawn above the markers.
    labels: Vec<String>,
}

/// Renders the report as an SVG document.
pub fn svg(r: &BenchReport) -> String {
    let base = r.rows.iter().find(|row| row.jobs == r.baseline_jobs);
    let base_mbps = base.map_or(0.0, |b| b.mb_per_s);
    let bj = r.baseline_jobs.max(1) as f64;
    let mb = |secs: f64| {
        if secs > 0.0 {
            r.bytes as f64 / 1e6 / secs
        } else {
            0.0
        }
    };
    let base_median = base.map_or(0.0, |b| b.median_s);
    let speed = |secs: f64| if secs > 0.0 { base_median / secs } else { 0.0 };
    let panels = [
        Panel {
            id: "throughput",
            title: "Throughput (labels: MB/s)",
            y_label: "throughput (MB/s)",
            points: r
                .rows
                .iter()
                .map(|row| (row.jobs as f64, row.mb_per_s, mb(row.max_s), mb(row.min_s)))
                .collect(),
            ideal: Box::new(move |j| base_mbps * j / bj),
            labels: r
                .rows
                .iter()
                .map(|row| match row.mb_per_s {
                    v if v < 10.0 => format!("{v:.1}"),
                    v => format!("{v:.0}"),
                })
                .collect(),
        },
        Panel {
            id: "speedup",
            title: "Speed-up (labels: parallel efficiency)",
            y_label: &if r.baseline_jobs == 1 {
                "speed-up over 1 job (x)".to_string()
            } else {
                format!("speed-up over {} jobs (x)", r.baseline_jobs)
            },
            points: r
                .rows
                .iter()
                .map(|row| {
                    (
                        row.jobs as f64,
                        row.speedup,
                        speed(row.max_s),
                        speed(row.min_s),
                    )
                })
                .collect(),
            ideal: Box::new(move |j| j / bj),
            labels: r
                .rows
                .iter()
                .map(|row| format!("{:.0}%", row.efficiency * 100.0))
                .collect(),
        },
    ];
    let max_jobs = r.rows.iter().map(|row| row.jobs).max().unwrap_or(1) as f64;
    let x_max = max_jobs * 1.05;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let title = if r.title.is_empty() {
        "Serial vs parallel".to_string()
    } else {
        r.title.clone()
    };
    let _ = writeln!(
        s,
        r#"<text x="{}" y="26" text-anchor="middle" font-size="17" font-weight="bold">{}</text>"#,
        W / 2.0,
        esc(&title)
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="46" text-anchor="middle" fill="dimgray">{} files, {}; median of {} run(s) per worker count; {} cores</text>"#,
        W / 2.0,
        r.files,
        esc(&crate::totals::human_bytes(r.bytes)),
        r.runs,
        r.cores
    );

    for (p, left) in panels.iter().zip(LEFTS) {
        let ideal_top = (p.ideal)(max_jobs.min(r.cores as f64).max(bj));
        let data_top = p.points.iter().map(|pt| pt.3).fold(0.0, f64::max);
        let raw_top = data_top.max(ideal_top).max(f64::MIN_POSITIVE) * 1.1;
        let step = nice_step(raw_top, 5.0);
        let y_max = (raw_top / step).ceil() * step;
        let sx = |j: f64| left + j / x_max * PANEL_W;
        let sy = |v: f64| BOTTOM - v / y_max * (BOTTOM - TOP);
        let _ = writeln!(s, r#"<g id="{}">"#, p.id);
        let _ = writeln!(
            s,
            r#"<clipPath id="clip-{}"><rect x="{left}" y="{TOP}" width="{PANEL_W}" height="{}"/></clipPath>"#,
            p.id,
            BOTTOM - TOP
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
            left + PANEL_W / 2.0,
            TOP - 10.0,
            esc(p.title)
        );
        // Grid and y ticks.
        let mut v = 0.0;
        while v <= y_max + step / 2.0 {
            let y = sy(v);
            let _ = writeln!(
                s,
                r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                left + PANEL_W,
                left - 6.0,
                y + 4.0,
                fmt_tick(v, step)
            );
            v += step;
        }
        // x ticks at every measured worker count.
        for pt in &p.points {
            let x = sx(pt.0);
            let _ = writeln!(
                s,
                r#"<line x1="{x:.1}" y1="{BOTTOM}" x2="{x:.1}" y2="{}" stroke="black"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
                BOTTOM + 5.0,
                BOTTOM + 20.0,
                pt.0
            );
        }
        // Axes and their labels.
        let _ = writeln!(
            s,
            r#"<polyline points="{left},{TOP} {left},{BOTTOM} {},{BOTTOM}" fill="none" stroke="black"/>"#,
            left + PANEL_W
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">worker threads (--jobs)</text>"#,
            left + PANEL_W / 2.0,
            BOTTOM + 40.0
        );
        let (lx, ly) = (left - 52.0, (TOP + BOTTOM) / 2.0);
        let _ = writeln!(
            s,
            r#"<text x="{lx}" y="{ly}" text-anchor="middle" transform="rotate(-90 {lx} {ly})">{}</text>"#,
            esc(p.y_label)
        );
        // The core count.
        let cx = sx(r.cores as f64);
        if (r.cores as f64) <= x_max {
            let _ = writeln!(
                s,
                r#"<line class="cores" x1="{cx:.1}" y1="{TOP}" x2="{cx:.1}" y2="{BOTTOM}" stroke="{CORES}" stroke-dasharray="2,4" stroke-width="1.5"/>"#
            );
        }
        // Ideal line, clipped to the panel.
        let _ = writeln!(
            s,
            r#"<line class="ideal" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{IDEAL}" stroke-width="2" stroke-dasharray="7,5" clip-path="url(#clip-{})"/>"#,
            sx(0.0),
            sy((p.ideal)(0.0)),
            sx(x_max),
            sy((p.ideal)(x_max)),
            p.id
        );
        // Measured: min-max bars, the median line, markers, labels.
        for pt in &p.points {
            let x = sx(pt.0);
            let _ = writeln!(
                s,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{MEASURED}" stroke-width="1.5"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{MEASURED}"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{MEASURED}"/>"#,
                sy(pt.2),
                sy(pt.3),
                x - 4.0,
                sy(pt.2),
                x + 4.0,
                sy(pt.2),
                x - 4.0,
                sy(pt.3),
                x + 4.0,
                sy(pt.3)
            );
        }
        let line: Vec<String> = p
            .points
            .iter()
            .map(|pt| format!("{:.1},{:.1}", sx(pt.0), sy(pt.1)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline class="measured" points="{}" fill="none" stroke="{MEASURED}" stroke-width="2.5"/>"#,
            line.join(" ")
        );
        for (pt, label) in p.points.iter().zip(&p.labels) {
            let (x, y) = (sx(pt.0), sy(pt.1));
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="{MEASURED}"/><text x="{:.1}" y="{:.1}" font-size="12" fill="{MEASURED}" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"#,
                x + 7.0,
                y - 8.0,
                esc(label)
            );
        }
        let _ = writeln!(s, "</g>");
    }

    // Legend, under both panels.
    let ly = H - 22.0;
    let _ = writeln!(
        s,
        r#"<g id="legend"><line x1="150" y1="{ly}" x2="190" y2="{ly}" stroke="{MEASURED}" stroke-width="2.5"/><circle cx="170" cy="{ly}" r="4.5" fill="{MEASURED}"/><text x="198" y="{}">measured median (bars: min to max)</text><line x1="470" y1="{ly}" x2="510" y2="{ly}" stroke="{IDEAL}" stroke-width="2" stroke-dasharray="7,5"/><text x="518" y="{}">ideal (linear scaling)</text><line x1="700" y1="{}" x2="700" y2="{}" stroke="{CORES}" stroke-dasharray="2,4" stroke-width="1.5"/><text x="710" y="{}">cores ({})</text></g>"#,
        ly + 4.0,
        ly + 4.0,
        ly - 9.0,
        ly + 9.0,
        ly + 4.0,
        r.cores
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::report_from_samples;
    use super::*;
    use std::time::Duration;

    #[test]
    fn nice_steps_are_one_two_five() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(1000.0, 5.0), 200.0);
        assert_eq!(nice_step(3.3, 5.0), 1.0);
        assert_eq!(nice_step(0.0, 5.0), 1.0);
    }

    #[test]
    fn svg_has_both_series_in_both_panels() {
        let mut r = report_from_samples(
            1 << 20,
            10,
            "f".into(),
            1,
            false,
            vec![
                (1, vec![Duration::from_millis(100)]),
                (2, vec![Duration::from_millis(60)]),
            ],
        );
        r.title = "a <b> & c".into();
        let s = svg(&r);
        assert!(s.starts_with("<svg"));
        assert!(s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches(r#"class="measured""#).count(), 2);
        assert_eq!(s.matches(r#"class="ideal""#).count(), 2);
        assert!(s.contains("a &lt;b&gt; &amp; c"));
        assert!(!s.contains("NaN") && !s.contains("inf"));
    }
}

//! The chart of a controller's recent passes, as hand-written inline SVG: one panel for the dynos in force
//! (a step line) and the estimate (dashed), then one panel per input value, sharing a time axis that covers
//! the history kept (at least a minute, at most [`crate::scaler::history::SPAN`]).

use super::text::{escape, number};
use crate::scaler::history::{Track, SPAN};

const WIDTH: f64 = 640.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 14.0;
const TITLE: f64 = 26.0;
const DYNOS_HEIGHT: f64 = 130.0;
const INPUT_HEIGHT: f64 = 85.0;
const AXIS: f64 = 28.0;

/// The colours of the inputs' lines, in order (the dynos and the estimate have their own).
const PALETTE: [&str; 5] = ["#0f766e", "#7c3aed", "#be123c", "#4d7c0f", "#0369a1"];

/// One line on a panel; `None` values leave a gap.
struct Line<'a> {
    label: &'a str,
    colour: &'a str,
    dashed: bool,
    step: bool,
    points: Vec<(f64, Option<f64>)>,
}

/// The time axis: seconds since the newest point (negative), scaled to the plot's width.
struct Axis {
    span: f64,
}

impl Axis {
    fn x(&self, seconds_ago: f64) -> f64 {
        LEFT + (1.0 + seconds_ago / self.span) * (WIDTH - LEFT - RIGHT)
    }
}

/// The `<figure>` for one controller: the SVG and a legend. Empty history gives a short note instead.
pub fn figure(track: &Track) -> String {
    let (Some(first), Some(last)) = (track.points.front(), track.points.back()) else {
        return "<p class=\"muted\">No passes yet: the chart starts with the first.</p>"
            .to_string();
    };
    let newest = last.at;
    let kept = (newest - first.at).as_secs_f64();
    let axis = Axis {
        span: kept.clamp(60.0, SPAN.as_secs_f64()),
    };
    let ago = |p: &crate::scaler::history::Point| (p.at - newest).as_secs_f64();
    let dynos = Line {
        label: "dynos",
        colour: "#1d4ed8",
        dashed: false,
        step: true,
        points: track
            .points
            .iter()
            .map(|p| (ago(p), p.dynos.map(f64::from)))
            .collect(),
    };
    let estimate = Line {
        label: "estimate",
        colour: "#d97706",
        dashed: true,
        step: true,
        points: track
            .points
            .iter()
            .map(|p| (ago(p), p.estimate.map(f64::from)))
            .collect(),
    };
    let mut panels = vec![("dynos".to_string(), DYNOS_HEIGHT, vec![dynos, estimate])];
    for (i, (name, unit)) in track.inputs.iter().enumerate() {
        let line = Line {
            label: name,
            colour: PALETTE[i % PALETTE.len()],
            dashed: false,
            step: false,
            points: track
                .points
                .iter()
                .map(|p| (ago(p), p.values.get(i).copied().flatten()))
                .collect(),
        };
        let title = if unit.is_empty() {
            name.clone()
        } else {
            format!("{name} ({unit})")
        };
        panels.push((title, INPUT_HEIGHT, vec![line]));
    }
    let height: f64 = panels.iter().map(|(_, h, _)| TITLE + h).sum::<f64>() + AXIS;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"dynos, estimate and inputs over the last {span}\" preserveAspectRatio=\"xMidYMid meet\">",
        span = duration_words(axis.span)
    );
    let mut legend = String::from("<ul class=\"legend\">");
    let mut top = 0.0;
    for (title, h, lines) in &panels {
        svg.push_str(&panel(&axis, top, *h, title, lines));
        for l in lines {
            let dash = if l.dashed { " dashed" } else { "" };
            legend.push_str(&format!(
                "<li><span class=\"swatch{dash}\" style=\"border-color:{}\"></span>{}</li>",
                l.colour,
                escape(l.label)
            ));
        }
        top += TITLE + h;
    }
    svg.push_str(&time_axis(&axis, top));
    svg.push_str("</svg>");
    legend.push_str("</ul>");
    format!("<figure>{svg}{legend}</figure>")
}

/// One panel: its title, y gridlines (0, half, top) with labels, the time gridlines, and the lines.
fn panel(axis: &Axis, top: f64, height: f64, title: &str, lines: &[Line]) -> String {
    let highest = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|(_, v)| *v))
        .fold(0.0_f64, f64::max);
    let ymax = nice_ceiling(highest);
    let plot_top = top + TITLE;
    let y = |v: f64| plot_top + height - (v / ymax) * height;
    let mut out = format!(
        "<text class=\"title\" x=\"{LEFT}\" y=\"{:.1}\">{}</text>",
        top + TITLE - 6.0,
        escape(title)
    );
    for v in [0.0, ymax / 2.0, ymax] {
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yv:.1}\" y2=\"{yv:.1}\"/><text class=\"ylabel\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 5.0,
            y(v) + 4.0,
            number(v),
            yv = y(v)
        ));
    }
    for t in ticks(axis.span) {
        let x = axis.x(t);
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{plot_top:.1}\" y2=\"{:.1}\"/>",
            plot_top + height
        ));
    }
    for l in lines {
        let dash = if l.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        for run in runs(&l.points, l.step) {
            let coords: Vec<String> = run
                .iter()
                .map(|(t, v)| format!("{:.1},{:.1}", axis.x(*t), y(*v)))
                .collect();
            out.push_str(&format!(
                "<polyline class=\"series\" data-series=\"{}\" stroke=\"{}\"{dash} points=\"{}\"/>",
                escape(l.label),
                l.colour,
                coords.join(" ")
            ));
        }
    }
    out
}

/// The time labels under the last panel (`-30m` ... `now`).
fn time_axis(axis: &Axis, top: f64) -> String {
    ticks(axis.span)
        .into_iter()
        .map(|t| {
            let label = if t == 0.0 {
                "now".to_string()
            } else {
                format!("-{}", duration_words(-t))
            };
            // "now" ends at the plot's right edge, so narrow screens' larger text stays inside.
            let end = if t == 0.0 { " end" } else { "" };
            format!(
                "<text class=\"xlabel{end}\" x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
                axis.x(t),
                top + 20.0
            )
        })
        .collect()
}

/// The stretches of a line without gaps, as points to join (a step line goes across, then up or down).
fn runs(points: &[(f64, Option<f64>)], step: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for &(t, v) in points {
        match v {
            Some(v) => {
                if let (true, Some(&(_, prev))) = (step, current.last()) {
                    current.push((t, prev));
                }
                current.push((t, v));
            }
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Tick positions in seconds before the newest point (0 is "now"), at most 6 across the span.
fn ticks(span: f64) -> Vec<f64> {
    let step = [10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0]
        .into_iter()
        .find(|s| span / s <= 6.0)
        .unwrap_or(900.0);
    let mut out = Vec::new();
    let mut t = 0.0;
    while t <= span + 1e-9 {
        out.push(-t);
        t += step;
    }
    out.reverse();
    out
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v` (1 for nothing above zero).
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let base = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * base)
}

/// `45s`, `5m`, `1h`.
fn duration_words(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scaler::history::Point;
    use jiff::Timestamp;

    fn track(values: &[Option<f64>]) -> Track {
        let points = values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                at: Timestamp::from_second(1_000_000 + 5 * i as i64).unwrap(),
                values: vec![*v],
                estimate: Some(2),
                dynos: Some(i as u32 % 3 + 1),
            })
            .collect();
        Track {
            inputs: vec![("rpm<1>".into(), "per minute".into())],
            points,
        }
    }

    #[test]
    fn a_figure_draws_dynos_estimate_and_each_input_with_gaps() {
        let svg = figure(&track(&[
            Some(10.0),
            Some(20.0),
            None,
            Some(30.0),
            Some(40.0),
        ]));
        assert_eq!(svg.matches("data-series=\"dynos\"").count(), 1);
        assert_eq!(svg.matches("data-series=\"estimate\"").count(), 1);
        // The missing value splits the input's line in two; its name is escaped.
        assert_eq!(svg.matches("data-series=\"rpm&lt;1&gt;\"").count(), 2);
        assert!(svg.contains(">rpm&lt;1&gt; (per minute)</text>"));
        // 20 s of passes: the axis covers the one-minute floor, ending at now.
        assert!(svg.contains(">-1m</text>") && svg.contains(">now</text>"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn no_history_no_chart() {
        let svg = figure(&Track::default());
        assert!(!svg.contains("<svg") && svg.contains("No passes yet"));
    }

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(1830.0), 2000.0);
        assert_eq!(nice_ceiling(0.03), 0.05);
    }

    #[test]
    fn gaps_split_lines_and_steps_go_across_first() {
        let pts = [
            (-3.0, Some(1.0)),
            (-2.0, Some(2.0)),
            (-1.0, None),
            (0.0, Some(4.0)),
        ];
        assert_eq!(
            runs(&pts, true),
            vec![
                vec![(-3.0, 1.0), (-2.0, 1.0), (-2.0, 2.0)],
                vec![(0.0, 4.0)]
            ]
        );
        assert_eq!(runs(&pts, false)[0], vec![(-3.0, 1.0), (-2.0, 2.0)]);
    }

    #[test]
    fn ticks_end_at_now_and_stay_few() {
        assert_eq!(
            ticks(60.0),
            vec![-60.0, -50.0, -40.0, -30.0, -20.0, -10.0, 0.0]
        );
        let hour = ticks(3600.0);
        assert_eq!((hour[0], hour.len()), (-3600.0, 7));
        assert_eq!(duration_words(900.0), "15m");
    }
}

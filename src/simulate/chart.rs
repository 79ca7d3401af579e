//! The chart of a replay, drawn with `plotters`: traffic on top (the first run's input values: the
//! `--capacity` inputs, or every input), dynos below (each input's estimate and the dynos needed, dashed; each
//! run's count after policies), with the first run's under-provisioned spans shaded red. SVG carries text;
//! PNG is drawn without text (no font is bundled: titles, axis labels and the legend are SVG-only).

use super::lane::Lane;
use super::summary::under;
use plotters::chart::SeriesAnno;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most points drawn per series (rows are bucketed and each bucket keeps its max).
const MAX_POINTS: usize = 1500;
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 800;

/// One panel of the chart: hours across, values up.
type Panel<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A series of the dynos panel: its name, points, colour and whether it is dashed.
type Line = (String, Vec<(f64, f64)>, RGBAColor, bool);

/// What the chart shows.
pub struct ChartData<'a> {
    pub lanes: &'a [Lane],
    /// Dynos needed per row of the first run (from `--capacity`).
    pub needed: Option<&'a [Option<f64>]>,
    /// Names of the first run's inputs shown as traffic (empty: all).
    pub traffic: Vec<String>,
    pub title: String,
}

/// The chart as SVG text.
pub fn svg(data: &ChartData) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, data, true)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The chart as a PNG file (no text).
pub fn png(data: &ChartData) -> Result<Vec<u8>, String> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, data, false)?;
        root.present().map_err(|e| e.to_string())?;
    }
    super::png::encode_rgb(WIDTH, HEIGHT, &rgb).map_err(|e| e.to_string())
}

/// A series as (hours, value) points, bucketed to at most [`MAX_POINTS`] (max per bucket).
fn series(lane: &Lane, start: i64, value: impl Fn(usize) -> Option<f64>) -> Vec<(f64, f64)> {
    let n = lane.rows.len();
    let per = n.div_ceil(MAX_POINTS).max(1);
    (0..n)
        .step_by(per)
        .filter_map(|from| {
            let max = (from..(from + per).min(n))
                .filter_map(&value)
                .reduce(f64::max)?;
            Some((hours(lane.rows[from].at, start), max))
        })
        .collect()
}

fn hours(at: i64, start: i64) -> f64 {
    (at - start) as f64 / 3.6e9
}

/// The first run's under-provisioned spans, in hours.
fn under_spans(
    lane: &Lane,
    needed: &[Option<f64>],
    start: i64,
    step_hours: f64,
) -> Vec<(f64, f64)> {
    let mut spans: Vec<(f64, f64)> = Vec::new();
    for (row, n) in lane.rows.iter().zip(needed) {
        if !n.is_some_and(|n| under(row.serving, n)) {
            continue;
        }
        let t = hours(row.at, start);
        match spans.last_mut() {
            Some(last) if t - last.1 < step_hours * 1.5 => last.1 = t + step_hours,
            _ => spans.push((t, t + step_hours)),
        }
    }
    spans
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    text: bool,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let Some(first) = data.lanes.first().filter(|l| !l.rows.is_empty()) else {
        return Ok(());
    };
    let start = first.rows[0].at;
    let end = hours(first.rows[first.rows.len() - 1].at, start).max(1e-3);
    let step_hours = match first.rows.get(1) {
        Some(r) => hours(r.at, start),
        None => 0.0,
    };
    let (top, bottom) = root.split_vertically((HEIGHT as f64 * 0.38) as u32);

    // Traffic.
    let shown: Vec<usize> = (0..first.input_names.len())
        .filter(|i| data.traffic.is_empty() || data.traffic.contains(&first.input_names[*i]))
        .collect();
    let traffic: Vec<(String, Vec<(f64, f64)>)> = shown
        .iter()
        .map(|&i| {
            let points = series(first, start, |r| {
                first.rows[r].inputs.get(i).and_then(|v| v.0)
            });
            (first.input_names[i].clone(), points)
        })
        .collect();
    let top_max = traffic
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.1))
        .fold(1.0f64, f64::max)
        * 1.1;
    let texts = text.then_some(Texts {
        caption: Some(&data.title),
        x_desc: "",
        y_desc: "traffic (input values)",
    });
    let mut chart = panel(&top, texts, (end, top_max))?;
    for (k, (name, points)) in traffic.into_iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let drawn = chart
            .draw_series(LineSeries::new(points, color.stroke_width(1)))
            .map_err(e)?;
        if text {
            label(drawn, name, color.stroke_width(1));
        }
    }
    if text {
        legend(&mut chart)?;
    }

    // Dynos.
    let mut lines: Vec<Line> = Vec::new();
    for (i, name) in first.input_names.iter().enumerate() {
        let points = series(first, start, |r| {
            first.rows[r].inputs.get(i).and_then(|v| v.1).map(f64::from)
        });
        let color = Palette99::pick(i).to_rgba().mix(0.6);
        lines.push((format!("{name} estimate"), points, color, true));
    }
    if let Some(needed) = data.needed {
        let points = series(first, start, |r| needed.get(r).copied().flatten());
        lines.push(("dynos needed".into(), points, BLACK.mix(0.5), true));
    }
    let run_colors = [RED, BLUE, GREEN, MAGENTA, CYAN, BLACK];
    for (k, lane) in data.lanes.iter().enumerate() {
        let points = series(lane, start, |r| Some(f64::from(lane.rows[r].count)));
        let color = run_colors[k % run_colors.len()].to_rgba();
        lines.push((format!("{} dynos", lane.name), step(points), color, false));
    }
    let bottom_max = lines
        .iter()
        .flat_map(|(_, p, _, _)| p.iter().map(|p| p.1))
        .fold(1.0f64, f64::max)
        * 1.1;
    let texts = text.then_some(Texts {
        caption: None,
        x_desc: "hours from the start of the replay",
        y_desc: "dynos",
    });
    let mut chart = panel(&bottom, texts, (end, bottom_max))?;
    if let Some(needed) = data.needed {
        let shade = RED.mix(0.15).filled();
        chart
            .draw_series(
                under_spans(first, needed, start, step_hours)
                    .into_iter()
                    .map(|(a, b)| Rectangle::new([(a, 0.0), (b, bottom_max)], shade)),
            )
            .map_err(e)?;
    }
    for (name, points, color, dashed) in lines {
        let style = color.stroke_width(if dashed { 1 } else { 2 });
        let drawn = if dashed {
            chart
                .draw_series(DashedLineSeries::new(points, 6, 4, style))
                .map_err(e)?
        } else {
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(e)?
        };
        if text {
            label(drawn, name, style);
        }
    }
    if text {
        legend(&mut chart)?;
    }
    Ok(())
}

/// A panel's words (SVG only).
struct Texts<'a> {
    caption: Option<&'a str>,
    x_desc: &'a str,
    y_desc: &'a str,
}

/// A panel over `area` from (0, 0) to `(x, y)`, with its mesh and words when `texts` are given.
fn panel<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, Shift>,
    texts: Option<Texts<'_>>,
    (x, y): (f64, f64),
) -> Result<Panel<'a, DB>, String>
where
    DB::ErrorType: 'static,
{
    let mut builder = ChartBuilder::on(area);
    builder.margin(10);
    if let Some(t) = &texts {
        if let Some(caption) = t.caption {
            builder.caption(caption, ("sans-serif", 20));
        }
        builder.x_label_area_size(40).y_label_area_size(60);
    }
    let mut chart = builder
        .build_cartesian_2d(0.0..x, 0.0..y)
        .map_err(|e| e.to_string())?;
    if let Some(t) = texts {
        chart
            .configure_mesh()
            .x_desc(t.x_desc)
            .y_desc(t.y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(chart)
}

/// Names a series in the legend.
fn label<DB: DrawingBackend>(drawn: &mut SeriesAnno<'_, DB>, name: String, style: ShapeStyle) {
    drawn
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
}

/// Draws a panel's legend.
fn legend<'a, DB: DrawingBackend + 'a>(chart: &mut Panel<'a, DB>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// A count drawn as steps: each value holds until the next point.
fn step(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(*p);
    }
    out
}

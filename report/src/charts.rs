//! Charts as SVG files, drawn with plotters: bars where servers are
//! compared, lines where a quantity varies (a pool's size, the connections
//! held, the clients). A page asks for one with a `chart` block:
//!
//! ```text
//! <!-- chart:start id=close-cpu kind=bars of=bench.close.*.cpu
//!      servers=simple_server,cgi_server,nginx title="..." axis="..." -->
//! ```
//!
//! `of` is a path in the results tree with `*` where each server's name
//! goes: one number per server for bars, a list of points for lines (then
//! `x` and `y` name the fields of a point, `xaxis` its axis, and `xlog=true`
//! spaces it by powers). `div` divides every value (1024 turns KiB into MiB).
//! The SVG has no font of its own: the browser draws its text.

use std::collections::BTreeMap;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use results::scenario::{BARE_MIO, HYPER, NGINX, SERVERS};
use serde_json::Value;

/// One chart: the SVG file's name in docs/charts/, its title, its text.
pub struct Chart {
    pub file: String,
    pub title: String,
    pub svg: String,
}

const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";

/// A colour per server, the same in every chart: the course's order.
fn colour(server: &str) -> RGBColor {
    const PALETTE: [u32; 14] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x17becf, 0xbcbd22,
        0x393b79, 0xad494a, 0x636363, 0x8c6d31, 0xa0a0a0,
    ];
    let all = SERVERS.iter().copied().chain([NGINX, HYPER, BARE_MIO]);
    let i = all
        .clone()
        .position(|s| s == server)
        .unwrap_or(PALETTE.len() - 1);
    let [_, r, g, b] = PALETTE[i].to_be_bytes();
    RGBColor(r, g, b)
}

/// The value at `path` in `tree`, `*` standing for `server`.
fn at<'a>(tree: &'a Value, path: &str, server: &str) -> Option<&'a Value> {
    path.split('.')
        .map(|part| if part == "*" { server } else { part })
        .try_fold(tree, |node, part| node.get(part))
}

/// Draws the chart a block asks for.
pub fn draw(args: &BTreeMap<String, String>, tree: &Value) -> anyhow::Result<Chart> {
    let arg = |k: &str| {
        args.get(k)
            .map(String::as_str)
            .with_context(|| format!("no {k}="))
    };
    let (id, title, of) = (arg("id")?, arg("title")?, arg("of")?);
    let servers: Vec<&str> = match args.get("servers") {
        Some(list) => list.split(',').map(str::trim).collect(),
        None => SERVERS.to_vec(),
    };
    let div: f64 = args.get("div").map_or(Ok(1.0), |d| d.parse())?;
    let mut svg = String::new();
    {
        let kind = args.get("kind").map_or("bars", String::as_str);
        let height = match kind {
            "lines" => 420,
            _ => 90 + 34 * servers.len() as u32,
        };
        let area = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        area.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let axis = arg("axis")?;
        match kind {
            "bars" => {
                let values: Vec<(String, Option<f64>)> = (servers.iter())
                    .map(|s| (s.to_string(), at(tree, of, s).and_then(Value::as_f64)))
                    .map(|(s, v)| (s, v.map(|v| v / div)))
                    .collect();
                // One bar standing alone compares nothing.
                let standing = values.iter().filter(|(_, v)| v.is_some_and(|v| v > 0.0));
                anyhow::ensure!(standing.count() > 1, "{id}: fewer than two bars above zero");
                bars(&area, title, axis, &values)?
            }
            "lines" => {
                let (x, y) = (arg("x")?, arg("y")?);
                let mut series = Vec::new();
                for s in &servers {
                    let points = at(tree, of, s).and_then(Value::as_array);
                    let points = points
                        .into_iter()
                        .flatten()
                        .filter_map(|p| Some((p.get(x)?.as_f64()?, p.get(y)?.as_f64()? / div)));
                    series.push((s.to_string(), points.collect::<Vec<_>>()));
                }
                let log = args.get("xlog").is_some_and(|v| v == "true");
                lines(&area, title, (arg("xaxis")?, axis), &series, log)?
            }
            other => anyhow::bail!("no chart of kind {other:?}"),
        }
        area.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(Chart {
        file: format!("{id}.svg"),
        title: title.to_string(),
        svg,
    })
}

/// A value as it reads beside its bar or on an axis: three figures at most,
/// and a whole number without decimals.
fn label(v: f64) -> String {
    match v {
        _ if v >= 1000.0 || v.fract() == 0.0 => results::thousands(v.round() as u64),
        _ if v >= 100.0 => format!("{v:.0}"),
        _ if v >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// A round upper bound a little above `top`.
fn ceiling(top: f64) -> f64 {
    let magnitude = 10f64.powi(top.max(1e-9).log10().floor() as i32);
    ((top * 1.15 / magnitude).ceil() * magnitude).max(magnitude)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn bars(
    area: &Area,
    title: &str,
    axis: &str,
    bars: &[(String, Option<f64>)],
) -> anyhow::Result<()> {
    let plot = |e| anyhow::anyhow!("chart: {e:?}");
    let top = bars.iter().filter_map(|b| b.1).fold(0.0, f64::max);
    let n = bars.len() as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 19))
        .margin(12)
        .margin_right(44)
        .x_label_area_size(44)
        .y_label_area_size(170)
        .build_cartesian_2d(0.0..ceiling(top), (0..n - 1).into_segmented())
        .map_err(plot)?;
    let names: Vec<String> = bars.iter().map(|b| b.0.replace("_server", "")).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc(axis)
        .x_labels(6)
        .x_label_formatter(&|v| label(*v))
        .y_labels(bars.len())
        .y_label_formatter(&|v| match v {
            // The first bar at the top: rows count from the bottom.
            SegmentValue::CenterOf(i) => (names.len() as i32 - 1 - i)
                .try_into()
                .ok()
                .and_then(|i: usize| names.get(i).cloned())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(plot)?;
    for (i, (server, value)) in bars.iter().enumerate() {
        let i = n - 1 - i as i32;
        let text = match value {
            Some(v) => {
                let rect = [
                    (0.0, SegmentValue::Exact(i)),
                    (*v, SegmentValue::Exact(i + 1)),
                ];
                let mut bar = Rectangle::new(rect, colour(server).filled());
                bar.set_margin(5, 5, 0, 0);
                chart.draw_series([bar]).map_err(plot)?;
                (*v, label(*v))
            }
            None => (0.0, "not measured".to_string()),
        };
        // A little right of the bar's end.
        let at = (text.0 + ceiling(top) * 0.008, SegmentValue::CenterOf(i));
        let style = TextStyle::from((FONT, 13)).pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series([Text::new(text.1, at, style)])
            .map_err(plot)?;
    }
    Ok(())
}

type Series = (String, Vec<(f64, f64)>);

fn lines(
    area: &Area,
    title: &str,
    (xaxis, yaxis): (&str, &str),
    series: &[Series],
    log: bool,
) -> anyhow::Result<()> {
    let plot = |e| anyhow::anyhow!("chart: {e:?}");
    // On a log axis, x is drawn as its power of two, so that each pool size
    // of a sweep (1, 4, 16, 64) sits on a tick of its own.
    let x = |v: f64| if log { v.max(1e-9).log2() } else { v };
    let series: Vec<Series> = (series.iter())
        .map(|(s, points)| (s.clone(), points.iter().map(|p| (x(p.0), p.1)).collect()))
        .collect();
    let points = || series.iter().flat_map(|s| s.1.iter());
    let xmax = points().map(|p| p.0).fold(0.0, f64::max);
    let xmin = points().map(|p| p.0).fold(f64::MAX, f64::min);
    let ytop = ceiling(points().map(|p| p.1).fold(0.0, f64::max));
    let (range, ticks) = match log {
        true => (
            xmin.floor() - 0.3..xmax.ceil() + 0.3,
            (xmax.ceil() - xmin.floor()) as usize + 1,
        ),
        false => (0.0..xmax * 1.05, 10),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 19))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(range, 0.0..ytop)
        .map_err(plot)?;
    let xlabel = |v: &f64| match log {
        true if v.fract() == 0.0 => label(2f64.powf(*v)),
        true => String::new(),
        false => label(*v),
    };
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc(xaxis)
        .y_desc(yaxis)
        .x_labels(ticks)
        .x_label_formatter(&xlabel)
        .y_label_formatter(&|v| label(*v))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(plot)?;
    let drawn = series.iter().filter(|s| !s.1.is_empty());
    for (i, (server, points)) in drawn.enumerate() {
        let c = colour(server);
        // Each line narrower than the one before, so that lines on top of
        // each other (the point of some charts) all stay visible.
        let width = 8u32.saturating_sub(2 * i as u32).max(2);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                c.stroke_width(width),
            ))
            .map_err(plot)?
            .label(server.replace("_server", ""))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], c.stroke_width(3)));
        let dots = points
            .iter()
            .map(|p| Circle::new(*p, width + 2, c.filled()));
        chart.draw_series(dots).map_err(plot)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()
        .map_err(plot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_its_title_axes_and_a_bar_or_line_per_server() {
        let tree = serde_json::json!({
            "bench": {"c100": {"a_server": {"rps": 41203.0}, "b_server": {"rps": 2.5}, "c": null}},
            "sweep": {"a_server": [{"w": 1, "v": 10.0}, {"w": 4, "v": 40.0}]},
        });
        let args = |s: &str| -> BTreeMap<String, String> {
            let block = crate::blocks::Block {
                name: "chart".into(),
                args: s.into(),
                body: 0..0,
                line: 1,
            };
            block.named().unwrap()
        };
        let bars = draw(
            &args("id=x title=\"Req per s\" axis=\"requests/s\" of=bench.c100.*.rps servers=a_server,b_server,c"),
            &tree,
        )
        .unwrap();
        assert_eq!(bars.file, "x.svg");
        for text in [
            "Req per s",
            "requests/s",
            "41,203",
            "2.50",
            "not measured",
            "\na\n",
            "\nb\n",
        ] {
            assert!(bars.svg.contains(text), "{text} in {}", bars.svg);
        }
        let lines = draw(
            &args("id=y kind=lines title=T axis=v xaxis=w of=sweep.* x=w y=v servers=a_server xlog=true"),
            &tree,
        )
        .unwrap();
        assert!(lines.svg.contains("<polyline") && lines.svg.contains("\na\n"));
        assert!(draw(&args("id=z title=T axis=v of=x kind=pie"), &tree).is_err());
    }
}

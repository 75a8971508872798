//! Charts drawn on the server as SVG: no script, nothing for the content
//! security policy to allow, and readable without images (each chart has
//! a title and a description with its figures, and each bar its own
//! title).

use std::fmt::Write;

/// One bar: stacked segments, bottom first.
pub struct Bar {
    /// Label under the bar (may be empty to thin out the axis).
    pub label: String,
    /// What the bar stands for, in full (its tooltip).
    pub title: String,
    /// Segment values, in the order of the chart's series.
    pub values: Vec<i64>,
}

/// A series of a stacked bar chart.
pub struct Series {
    /// Its name, in the legend.
    pub name: &'static str,
    /// CSS class giving its colour.
    pub class: &'static str,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;
const LEFT: f64 = 44.0;

/// Escapes text for SVG content and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A stacked bar chart. `id` makes the title and description ids unique
/// on the page.
pub fn stacked_bars(
    id: &str,
    title: &str,
    series: &[Series],
    bars: &[Bar],
    locale: crate::Locale,
) -> String {
    // The title and the series' names in the page's language.
    let title = &*locale.phrase(title);
    let names: Vec<String> = series
        .iter()
        .map(|series| locale.phrase(series.name).into_owned())
        .collect();
    let max = bars
        .iter()
        .map(|bar| bar.values.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let totals: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let total: i64 = bars
                .iter()
                .map(|bar| bar.values.get(index).copied().unwrap_or(0))
                .sum();
            format!("{name} {total}")
        })
        .collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{} {}.</desc>"#,
        escape(title),
        escape(&locale.phrase("In total:")),
        escape(&totals.join(", "))
    );
    let plot_height = HEIGHT - TOP - BOTTOM;
    let plot_width = WIDTH - LEFT - 8.0;
    // Axis: zero and the maximum.
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{y0}" x2="{x1}" y2="{y0}"/><text class="tick" x="{tx}" y="{y0}" text-anchor="end">0</text><text class="tick" x="{tx}" y="{ymax}" text-anchor="end">{max}</text>"#,
        y0 = TOP + plot_height,
        x1 = LEFT + plot_width,
        tx = LEFT - 6.0,
        ymax = TOP + 10.0,
    );
    let slot = plot_width / bars.len().max(1) as f64;
    let bar_width = (slot * 0.7).max(1.0);
    for (index, bar) in bars.iter().enumerate() {
        let x = LEFT + slot * index as f64 + (slot - bar_width) / 2.0;
        let mut y = TOP + plot_height;
        let _ = write!(svg, "<g><title>{}</title>", escape(&bar.title));
        for (value, series) in bar.values.iter().zip(series) {
            let height = plot_height * (*value as f64) / (max as f64);
            if height > 0.0 {
                y -= height;
                let _ = write!(
                    svg,
                    r#"<rect class="{}" x="{x:.1}" y="{y:.1}" width="{bar_width:.1}" height="{height:.1}"/>"#,
                    series.class
                );
            }
        }
        svg.push_str("</g>");
        if !bar.label.is_empty() {
            let _ = write!(
                svg,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar_width / 2.0,
                TOP + plot_height + 16.0,
                escape(&bar.label)
            );
        }
    }
    // Legend.
    let mut legend_x = LEFT;
    for (series, name) in series.iter().zip(&names) {
        let _ = write!(
            svg,
            r#"<rect class="{}" x="{legend_x}" y="{ly}" width="12" height="12"/><text class="legend" x="{tx}" y="{ty}">{}</text>"#,
            series.class,
            escape(name),
            ly = HEIGHT - 14.0,
            tx = legend_x + 16.0,
            ty = HEIGHT - 4.0,
        );
        legend_x += 24.0 + 8.0 * name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

/// A span on a timeline.
pub struct Span {
    /// Row label.
    pub label: String,
    /// What it is, in full (its tooltip).
    pub title: String,
    /// Start, Unix seconds.
    pub from: i64,
    /// End, Unix seconds.
    pub until: i64,
    /// CSS class giving its colour.
    pub class: &'static str,
}

/// Horizontal spans on a time axis from `start` to `end`, with a line at
/// `now`.
pub fn timeline(id: &str, title: &str, spans: &[Span], start: i64, end: i64, now: i64) -> String {
    let row = 26.0;
    let left = 110.0;
    let height = TOP + row * spans.len() as f64 + 24.0;
    let width = WIDTH - left - 8.0;
    let range = (end - start).max(1) as f64;
    let at = |time: i64| left + width * ((time.clamp(start, end) - start) as f64) / range;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(
            &spans
                .iter()
                .map(|span| span.title.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )
    );
    for (index, span) in spans.iter().enumerate() {
        let y = TOP + row * index as f64;
        let (x1, x2) = (at(span.from), at(span.until));
        let _ = write!(
            svg,
            r#"<text class="tick" x="{tx}" y="{ty:.1}" text-anchor="end">{}</text><g><title>{}</title><rect class="{}" x="{x1:.1}" y="{y:.1}" width="{w:.1}" height="16"/></g>"#,
            escape(&span.label),
            escape(&span.title),
            span.class,
            tx = left - 6.0,
            ty = y + 12.0,
            w = (x2 - x1).max(2.0),
        );
    }
    let x_now = at(now);
    let _ = write!(
        svg,
        r#"<line class="now" x1="{x_now:.1}" y1="{TOP}" x2="{x_now:.1}" y2="{y2:.1}"/><text class="tick" x="{x_now:.1}" y="{ty:.1}" text-anchor="middle">now</text></svg>"#,
        y2 = height - 20.0,
        ty = height - 6.0,
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_labelled_and_escaped() {
        let svg = stacked_bars(
            "c",
            "Sign-ins <24h>",
            &[
                Series {
                    name: "succeeded",
                    class: "ok",
                },
                Series {
                    name: "failed",
                    class: "bad",
                },
            ],
            &[
                Bar {
                    label: "10:00".into(),
                    title: "10:00: 3 succeeded, 1 failed".into(),
                    values: vec![3, 1],
                },
                Bar {
                    label: String::new(),
                    title: "11:00: none".into(),
                    values: vec![0, 0],
                },
            ],
            crate::Locale::English,
        );
        assert!(svg.contains("Sign-ins &lt;24h&gt;"));
        assert!(svg.contains("In total: succeeded 3, failed 1."));
        assert!(svg.contains(r#"class="ok""#) && svg.contains(r#"class="bad""#));
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn timeline_clamps_spans_to_the_axis() {
        let svg = timeline(
            "t",
            "Keys",
            &[Span {
                label: "k1".into(),
                title: "k1 current".into(),
                from: -100,
                until: 500,
                class: "current",
            }],
            0,
            100,
            50,
        );
        assert!(svg.contains("k1 current"));
        assert!(svg.contains(r#"class="now""#));
    }
}

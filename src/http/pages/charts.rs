//! Server-rendered SVG charts (charts-rs): the daily cost + requests trend on
//! two axes, and horizontal bars for breakdowns. Each chart is rendered in a
//! light and a dark variant; CSS shows the one matching the reader's
//! `prefers-color-scheme`. Every bar and point carries a `<title>` tooltip.

use charts_rs::{BarChart, HorizontalBarChart};
use serde_json::{Value, json};

use crate::domain::analytics::{Breakdown, TrendPoint};

/// Light and dark SVG of one chart.
pub struct Chart {
    pub light: String,
    pub dark: String,
}

const WIDTH: u32 = 1080;
/// Colours chosen to stay legible on both backgrounds: cost, requests.
const SERIES: [&str; 2] = ["#4F6BED", "#E0822B"];

fn render(config: Value, draw: fn(&str) -> Result<String, String>) -> Chart {
    let variant = |theme: &str, text: &str, grid: &str| {
        let mut c = config.clone();
        c["theme"] = json!(theme);
        c["x_axis_font_color"] = json!(text);
        c["legend_font_color"] = json!(text);
        c["grid_stroke_color"] = json!(grid);
        if let Some(axes) = c["y_axis_configs"].as_array_mut() {
            for axis in axes {
                axis["axis_font_color"] = json!(text);
            }
        }
        let text = c.to_string();
        draw(&text)
            .unwrap_or_else(|e| format!("<p class=\"chart-error\">chart unavailable: {e}</p>"))
    };
    Chart {
        light: variant("light", "#475569", "#E2E8F0"),
        dark: variant("dark", "#CBD5E1", "#334155"),
    }
}

fn bar_svg(config: &str) -> Result<String, String> {
    BarChart::from_json(config)
        .and_then(|c| c.svg())
        .map_err(|e| e.to_string())
}

fn horizontal_svg(config: &str) -> Result<String, String> {
    HorizontalBarChart::from_json(config)
        .and_then(|c| c.svg())
        .map_err(|e| e.to_string())
}

/// Dollars as a chart value. Display only: the exact figures are in the tables.
fn dollars(cost: crate::domain::Money) -> f64 {
    cost.picos() as f64 / crate::domain::money::UNITS_PER_USD as f64
}

/// Daily cost (bars, left axis, USD) and requests (line, right axis).
pub fn trend(points: &[TrendPoint]) -> Chart {
    let labels: Vec<String> = points
        .iter()
        .map(|p| p.date.date().format("%b %-d").to_string())
        .collect();
    let cost: Vec<f64> = points
        .iter()
        .map(|p| (dollars(p.cost_usd) * 100.0).round() / 100.0)
        .collect();
    let requests: Vec<i64> = points.iter().map(|p| p.requests).collect();
    render(
        json!({
            "width": WIDTH, "height": 320,
            "font_family": "Roboto",
            "legend_align": "right",
            "tooltip_show": true,
            "x_axis_data": labels,
            "x_axis_label_overflow": "thin",
            "series_colors": SERIES,
            "y_axis_configs": [
                {"axis_formatter": "${c}", "axis_title": "Cost (USD)"},
                {"axis_title": "Requests"}
            ],
            "series_list": [
                {"name": "Cost (USD)", "data": cost, "y_axis_index": 0},
                {"name": "Requests", "data": requests, "y_axis_index": 1, "category": "line"}
            ]
        }),
        bar_svg,
    )
}

/// Cost per entry of a breakdown, largest first (at most `limit` entries).
pub fn breakdown(entries: &[Breakdown], limit: usize) -> Chart {
    let shown: Vec<&Breakdown> = entries.iter().take(limit).collect();
    // Horizontal bars are drawn bottom-up: reverse so the largest is on top.
    let labels: Vec<String> = shown.iter().rev().map(|e| e.label.clone()).collect();
    let cost: Vec<f64> = shown
        .iter()
        .rev()
        .map(|e| (dollars(e.cost_usd) * 100.0).round() / 100.0)
        .collect();
    let height = 60 + 30 * shown.len().max(1) as u32;
    render(
        json!({
            "width": 560, "height": height,
            "font_family": "Roboto",
            "margin": {"left": 10, "top": 10, "right": 60, "bottom": 5},
            "x_axis_font_size": 13,
            "series_label_formatter": "${c}",
            "legend_align": "right",
            "tooltip_show": true,
            "x_axis_data": labels,
            "series_colors": [SERIES[0]],
            "series_list": [{"name": "Cost (USD)", "data": cost, "label_show": true}]
        }),
        horizontal_svg,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Day, Money};

    #[test]
    fn the_trend_has_bars_a_line_and_tooltips() {
        let points: Vec<TrendPoint> = (0..7)
            .map(|i| TrendPoint {
                date: Day::parse("2026-11-21").unwrap().plus(i),
                cost_usd: Money::parse_usd(&format!("{}.5", i + 1)).unwrap(),
                requests: 10 * i64::from(i),
                tokens: 0,
            })
            .collect();
        let chart = trend(&points);
        for svg in [&chart.light, &chart.dark] {
            assert!(svg.starts_with("<svg"), "{}", &svg[..200.min(svg.len())]);
            assert!(
                svg.matches("<title>").count() >= 14,
                "tooltips for 7 bars and 7 points"
            );
            assert!(svg.contains("Requests") && svg.contains("Cost (USD)"));
            assert!(svg.contains("Nov 21"));
        }
        assert_ne!(chart.light, chart.dark);
        std::fs::write(
            std::env::temp_dir().join("llm-ledger-trend.svg"),
            &chart.light,
        )
        .unwrap();
    }

    #[test]
    fn breakdowns_have_one_bar_per_entry() {
        let entries: Vec<Breakdown> = ["OpenAI", "Anthropic <script>"]
            .iter()
            .enumerate()
            .map(|(i, label)| Breakdown {
                key: label.to_string(),
                label: label.to_string(),
                cost_usd: Money::from_picos(1_000_000_000_000 * (i as i64 + 1)),
                requests: 1,
                tokens: 1,
            })
            .collect();
        let chart = breakdown(&entries, 10);
        assert!(
            chart.light.matches("<title>").count() >= 2,
            "{}",
            chart.light
        );
        assert!(!chart.light.contains("<script>"), "labels are escaped");
        std::fs::write(
            std::env::temp_dir().join("llm-ledger-bars.svg"),
            &chart.light,
        )
        .unwrap();
    }
}

//! Server-rendered SVG charts (charts-rs): the daily cost + requests trend on
//! two axes, and horizontal bars for breakdowns. Each chart is rendered in a
//! light and a dark variant; CSS shows the one matching the reader's
//! `prefers-color-scheme`. Every bar and point carries a `<title>` tooltip.

use charts_rs::{BarChart, HorizontalBarChart};
use serde_json::{Value, json};

use crate::domain::Money;
use crate::domain::analytics::{Breakdown, TrendPoint};
use crate::domain::money::UNITS_PER_USD;

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

/// The money unit of one chart. The charts print values with one decimal,
/// so cheap usage in dollars would read "$0": under a dollar, cents.
struct Unit {
    per_usd: f64,
    /// A value's label, `{c}` standing for the number.
    format: &'static str,
    title: &'static str,
}

impl Unit {
    fn for_largest(largest: Money) -> Unit {
        if largest >= Money::from_picos(UNITS_PER_USD) {
            Unit {
                per_usd: 1.0,
                format: "${c}",
                title: "Cost (USD)",
            }
        } else {
            Unit {
                per_usd: 100.0,
                format: "{c}¢",
                title: "Cost (US cents)",
            }
        }
    }

    /// An amount as a chart value. Display only: the exact figures are in
    /// the tables beside the charts.
    fn value(&self, cost: Money) -> f64 {
        cost.picos() as f64 / UNITS_PER_USD as f64 * self.per_usd
    }
}

/// Days past which cost is drawn as a line: the chart's fixed bar margins
/// would leave bars a pixel wide.
const MOST_COST_BARS: usize = 45;

/// Daily cost (bars, left axis, USD) and requests (line, right axis).
pub fn trend(points: &[TrendPoint]) -> Chart {
    let labels: Vec<String> = points
        .iter()
        .map(|p| p.date.date().format("%b %-d").to_string())
        .collect();
    let unit = Unit::for_largest(points.iter().map(|p| p.cost_usd).max().unwrap_or_default());
    let cost: Vec<f64> = points.iter().map(|p| unit.value(p.cost_usd)).collect();
    let cost_as = if points.len() > MOST_COST_BARS {
        "line"
    } else {
        "bar"
    };
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
                {"axis_formatter": unit.format, "axis_title": unit.title},
                {"axis_title": "Requests"}
            ],
            "series_list": [
                {"name": unit.title, "data": cost, "y_axis_index": 0, "category": cost_as},
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
    let unit = Unit::for_largest(shown.first().map(|e| e.cost_usd).unwrap_or_default());
    let cost: Vec<f64> = shown.iter().rev().map(|e| unit.value(e.cost_usd)).collect();
    let height = 60 + 30 * shown.len().max(1) as u32;
    render(
        json!({
            "width": 560, "height": height,
            "font_family": "Roboto",
            "margin": {"left": 10, "top": 10, "right": 60, "bottom": 5},
            "x_axis_font_size": 13,
            "series_label_formatter": unit.format,
            "legend_align": "right",
            "tooltip_show": true,
            "x_axis_data": labels,
            "series_colors": [SERIES[0]],
            "series_list": [{"name": unit.title, "data": cost, "label_show": true}]
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

    fn days(n: i32, cost: &str) -> Vec<TrendPoint> {
        (0..n)
            .map(|i| TrendPoint {
                date: Day::parse("2026-09-01").unwrap().plus(i),
                cost_usd: Money::parse_usd(cost).unwrap(),
                requests: 1,
                tokens: 11_000,
            })
            .collect()
    }

    #[test]
    fn cheap_usage_is_charted_in_cents_not_as_zero() {
        // One gpt-4o-mini call a day: $0.0147, which one decimal of dollars
        // would draw as a flat $0.
        let chart = trend(&days(7, "0.0147"));
        assert!(chart.light.contains("Cost (US cents)"), "{}", chart.light);
        assert!(
            chart.light.contains("data-value=\"1.5\""),
            "{}",
            chart.light
        );
        let entries = vec![Breakdown {
            key: "gpt-4o-mini".into(),
            label: "GPT-4o mini".into(),
            cost_usd: Money::parse_usd("0.0035").unwrap(),
            requests: 1,
            tokens: 1,
        }];
        let bars = breakdown(&entries, 10);
        assert!(
            bars.light.contains("0.3¢") || bars.light.contains("0.4¢"),
            "{}",
            bars.light
        );
        // A dollar or more stays in dollars.
        assert!(trend(&days(7, "1.5")).light.contains("Cost (USD)"));
    }

    #[test]
    fn long_ranges_draw_cost_as_a_line() {
        let rect_widths = |svg: &str| -> Vec<String> {
            svg.split("<rect ")
                .skip(1)
                .map(|r| r.split('>').next().unwrap())
                .filter(|r| r.contains("data-series=\"Cost"))
                .map(|r| {
                    r.split("width=\"")
                        .nth(1)
                        .unwrap()
                        .split('"')
                        .next()
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        let month = trend(&days(30, "2.5"));
        assert_eq!(rect_widths(&month.light).len(), 30, "bars for a month");
        assert!(
            rect_widths(&month.light)
                .iter()
                .all(|w| w.parse::<f32>().unwrap() > 4.0)
        );
        let quarter = trend(&days(90, "2.5"));
        assert!(
            rect_widths(&quarter.light).is_empty(),
            "no hairline bars for 90 days"
        );
        assert!(quarter.light.contains("<path"), "cost as a line");
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

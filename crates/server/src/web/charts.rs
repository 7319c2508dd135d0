//! Server-rendered SVG charts for the console: columns over time and horizontal bars by
//! category. Plain markup styled by the page's stylesheet (no scripts, no inline styles, so
//! the content security policy holds); every bar carries a `<title>` for a tooltip and the
//! chart an accessible name. The same numbers are always in a table next to the chart.

use std::fmt::Write as _;

/// One bar: what it is, its height, and the text its tooltip shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub detail: String,
}

const WIDTH: f64 = 720.0;
const COLUMN_HEIGHT: f64 = 220.0;
const AXIS_LEFT: f64 = 64.0;
const AXIS_BOTTOM: f64 = 26.0;
const TOP: f64 = 12.0;
/// At most this many labels under the columns, so they never overlap.
const MAX_X_LABELS: usize = 8;

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The smallest "round" number (1, 2 or 5 times a power of ten) at or above `max`, so axis
/// ticks read naturally.
fn nice_ceiling(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// A small number with `digits` significant digits and no trailing zeros (0.0000123 →
/// "0.0000123" for 3 digits, 0.5 → "0.5").
pub fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 || !value.is_finite() {
        return "0".to_owned();
    }
    let decimals = (digits - 1 - value.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Axis numbers: whole numbers with thousands shortened, small values with decimals.
pub fn compact(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1_000_000.0 {
        format!("{:.1}M", value / 1_000_000.0)
    } else if abs >= 10_000.0 {
        format!("{:.0}k", value / 1_000.0)
    } else if abs >= 1_000.0 {
        format!("{:.1}k", value / 1_000.0)
    } else if abs >= 1.0 || abs == 0.0 {
        format!("{}", (value * 100.0).round() / 100.0)
    } else {
        significant(value, 2)
    }
}

fn open(out: &mut String, id: &str, title: &str, height: f64) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-title" data-testid="{id}"><title id="{id}-title">{}</title>"#,
        escape(title)
    );
}

/// Columns over an ordered axis (days). `id` names the chart for labels and tests.
pub fn columns(id: &str, title: &str, bars: &[Bar]) -> String {
    let mut out = String::new();
    open(&mut out, id, title, COLUMN_HEIGHT);
    let plot_w = WIDTH - AXIS_LEFT - 8.0;
    let plot_h = COLUMN_HEIGHT - AXIS_BOTTOM - TOP;
    let max = nice_ceiling(bars.iter().map(|b| b.value).fold(0.0, f64::max));
    for tick in 0..=4 {
        let value = max * f64::from(tick) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(tick) / 4.0;
        let _ = write!(
            out,
            r#"<line class="chart-grid" x1="{AXIS_LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="chart-label" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - 8.0,
            AXIS_LEFT - 6.0,
            y + 4.0,
            compact(value)
        );
    }
    if !bars.is_empty() {
        let slot = plot_w / bars.len() as f64;
        let bar_w = (slot * 0.75).max(1.0);
        let label_every = bars.len().div_ceil(MAX_X_LABELS).max(1);
        for (i, bar) in bars.iter().enumerate() {
            let x = AXIS_LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
            let h =
                (bar.value.max(0.0) / max * plot_h).max(if bar.value > 0.0 { 1.0 } else { 0.0 });
            let y = TOP + plot_h - h;
            let _ = write!(
                out,
                r#"<rect class="chart-bar" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}"><title>{}: {}</title></rect>"#,
                escape(&bar.label),
                escape(&bar.detail)
            );
            if i % label_every == 0 {
                let _ = write!(
                    out,
                    r#"<text class="chart-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                    x + bar_w / 2.0,
                    COLUMN_HEIGHT - 8.0,
                    escape(&bar.label)
                );
            }
        }
    }
    let _ = write!(
        out,
        r#"<line class="chart-axis" x1="{AXIS_LEFT}" x2="{}" y1="{:.1}" y2="{:.1}"/></svg>"#,
        WIDTH - 8.0,
        TOP + plot_h,
        TOP + plot_h
    );
    out
}

const ROW: f64 = 28.0;
const LABEL_W: f64 = 220.0;
const VALUE_W: f64 = 110.0;
/// Labels longer than this are shortened (the table shows them whole).
const MAX_LABEL_CHARS: usize = 30;

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// Horizontal bars, one row per category, largest first as given.
pub fn bars(id: &str, title: &str, bars: &[Bar]) -> String {
    let height = (ROW * bars.len().max(1) as f64 + 8.0).round();
    let mut out = String::new();
    open(&mut out, id, title, height);
    let plot_w = WIDTH - LABEL_W - VALUE_W;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    for (i, bar) in bars.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = (bar.value.max(0.0) / max * plot_w).max(if bar.value > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            out,
            r#"<text class="chart-label chart-category" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="chart-bar" x="{LABEL_W}" y="{:.1}" width="{w:.1}" height="{:.1}"><title>{}: {}</title></rect><text class="chart-label" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL_W - 8.0,
            y + ROW / 2.0 + 4.0,
            escape(&shorten(&bar.label)),
            y + 4.0,
            ROW - 8.0,
            escape(&bar.label),
            escape(&bar.detail),
            LABEL_W + w + 6.0,
            y + ROW / 2.0 + 4.0,
            escape(&bar.detail)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.to_owned(),
            value,
            detail: format!("{value}"),
        }
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(450.0), 500.0);
        assert_eq!(nice_ceiling(0.003), 0.005);
    }

    #[test]
    fn columns_scale_to_the_largest_value() {
        let svg = columns(
            "c",
            "Requests",
            &[bar("a", 5.0), bar("b", 10.0), bar("c", 0.0)],
        );
        // Axis max is 10, plot height 182: the 10 bar fills it, the 5 bar half.
        assert!(svg.contains(r#"height="182.0""#), "{svg}");
        assert!(svg.contains(r#"height="91.0""#), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn labels_are_escaped_and_shortened() {
        let svg = bars(
            "b",
            "By <model>",
            &[bar("a<script>&\"", 1.0), bar(&"x".repeat(50), 2.0)],
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("a&lt;script&gt;&amp;&quot;"));
        assert!(svg.contains("By &lt;model&gt;"));
        assert!(svg.contains(&format!("{}…", "x".repeat(29))));
        // The full label stays in the tooltip.
        assert!(svg.contains(&"x".repeat(50)));
    }

    #[test]
    fn many_columns_label_only_some() {
        let days: Vec<Bar> = (0..30).map(|i| bar(&format!("d{i}"), 1.0)).collect();
        let svg = columns("d", "Days", &days);
        let labels = svg.matches(r#"text-anchor="middle""#).count();
        assert!((4..=MAX_X_LABELS).contains(&labels), "{labels}");
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(1500.0), "1.5k");
        assert_eq!(compact(25_000.0), "25k");
        assert_eq!(compact(3_200_000.0), "3.2M");
        assert_eq!(compact(0.0025), "0.0025");
        assert_eq!(compact(0.000_012_5), "0.000013");
        assert_eq!(significant(0.5, 3), "0.5");
        assert_eq!(significant(0.000_012_34, 3), "0.0000123");
    }
}

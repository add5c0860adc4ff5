//! Charts drawn as SVG on the server: no script, no library, and readable
//! by screen readers through their title and a table-free description.

use crate::domain::money::Money;
use crate::notify::messages::escape;

/// Vertical bars for amounts over time. `labels` are shown under some bars;
/// `describe` formats an amount for the accessible description.
pub fn bars(
    title: &str,
    points: &[(String, Money)],
    label_every: usize,
    describe: impl Fn(Money) -> String,
) -> String {
    let width = 420.0;
    let height = 170.0;
    let top = 10.0;
    let bottom = 24.0;
    let n = points.len().max(1) as f64;
    // Floats only place the bars; amounts stay exact in the descriptions.
    let max = points.iter().map(|p| p.1.minor()).max().unwrap_or(0).max(1) as f64;
    let slot = width / n;
    let bar = (slot * 0.7).max(2.0);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"t-{id}\"><title id=\"t-{id}\">{title}</title>",
        id = slug(title),
        title = escape(title)
    );
    out.push_str(&format!(
        "<line class=\"axis\" x1=\"0\" y1=\"{y}\" x2=\"{width}\" y2=\"{y}\" stroke-width=\"1\"/>",
        y = height - bottom
    ));
    for (i, (label, amount)) in points.iter().enumerate() {
        let h = (amount.minor() as f64 / max) * (height - top - bottom);
        let x = i as f64 * slot + (slot - bar) / 2.0;
        let y = height - bottom - h;
        let class = if i + 1 == points.len() {
            "bar bar-today"
        } else {
            "bar"
        };
        out.push_str(&format!(
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" rx=\"2\"><title>{} — {}</title></rect>",
            escape(label),
            escape(&describe(*amount))
        ));
        if label_every > 0 && (i % label_every == 0 || i + 1 == points.len()) {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0,
                height - 8.0,
                escape(label)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// A thin horizontal bar showing `value` as a share of `max`.
pub fn meter(value: Money, max: Money, colour: &str) -> String {
    let share = if max.is_positive() {
        (value.minor().max(0) as f64 / max.minor() as f64).min(1.0)
    } else {
        0.0
    };
    format!(
        "<svg viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" aria-hidden=\"true\"><rect width=\"100\" height=\"10\" rx=\"5\" fill=\"#eef2f7\"/><rect width=\"{:.1}\" height=\"10\" rx=\"5\" fill=\"{colour}\"/></svg>",
        share * 100.0
    )
}

/// One bar split into coloured parts, for customers by state.
pub fn stacked(title: &str, parts: &[(&str, i64, &str)]) -> String {
    let total: i64 = parts.iter().map(|p| p.1).sum();
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 600 36\" role=\"img\" aria-label=\"{}\"><rect width=\"600\" height=\"36\" rx=\"8\" fill=\"#eef2f7\"/>",
        escape(title)
    );
    let mut x = 0.0;
    for (label, count, colour) in parts {
        if *count == 0 || total == 0 {
            continue;
        }
        let w = *count as f64 / total as f64 * 600.0;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" width=\"{w:.1}\" height=\"36\" fill=\"{colour}\"><title>{}: {count}</title></rect>",
            escape(label)
        ));
        x += w;
    }
    out.push_str("</svg>");
    out
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_amount_and_escape_labels() {
        let svg = bars(
            "Collections",
            &[("<a>".into(), Money(50)), ("b".into(), Money(100))],
            1,
            |a| a.minor().to_string(),
        );
        assert!(svg.contains("&lt;a&gt;"));
        assert!(svg.contains("height=\"136.0\""), "{svg}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn an_empty_chart_still_draws() {
        assert!(bars("Nothing", &[], 1, |a| a.minor().to_string()).contains("</svg>"));
        assert!(stacked("None", &[("paid", 0, "#000")]).contains("</svg>"));
        assert!(meter(Money(5), Money(0), "#000").contains("width=\"0.0\""));
    }
}

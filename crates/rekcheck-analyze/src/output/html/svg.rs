//! The page's charts and drawings as inline SVG, rendered here (no chart library, no request).
//!
//! Only presentation attributes and classes are used (no `style` attribute), so the page's
//! Content-Security-Policy needs no `'unsafe-inline'`. Every text from data goes through maud,
//! which escapes it.

use maud::{Markup, html};

use super::collect::{ImagePixels, ShownImage};
use crate::model::{Level, Severity};
use crate::results::analysis::Stats;
use crate::results::geometry::BoxGeometry;

/// A segment of a stacked bar: name, count and CSS class.
pub(crate) struct Segment {
    pub(crate) name: &'static str,
    pub(crate) count: u64,
    pub(crate) class: &'static str,
}

const BAR_WIDTH: u64 = 600;

/// The line accounting of a manifest as two stacked bars: statuses, then used / not used.
pub(crate) fn line_bars(stats: &Stats) -> Markup {
    let statuses = [
        Segment {
            name: "ok",
            count: stats.ok,
            class: "ok",
        },
        Segment {
            name: "warning",
            count: stats.warning,
            class: "warn",
        },
        Segment {
            name: "error",
            count: stats.error,
            class: "err",
        },
        Segment {
            name: "unparsable",
            count: stats.unparsable,
            class: "unp",
        },
        Segment {
            name: "blank",
            count: stats.blank,
            class: "blank",
        },
    ];
    let images = stats.ok + stats.warning + stats.error + stats.unparsable;
    let used = [
        Segment {
            name: "used by Rekognition",
            count: stats.used,
            class: "ok",
        },
        Segment {
            name: "not used",
            count: images.saturating_sub(stats.used),
            class: "err",
        },
    ];
    html! {
        (stacked_bar("Lines by status", &statuses))
        (stacked_bar("Images used by Rekognition", &used))
    }
}

/// One stacked bar with a text legend (the numbers are readable without the colours).
pub(crate) fn stacked_bar(title: &str, segments: &[Segment]) -> Markup {
    let total: u64 = segments.iter().map(|s| s.count).sum();
    let mut x = 0u64;
    let mut rects = Vec::new();
    for s in segments {
        if s.count == 0 || total == 0 {
            continue;
        }
        let w = (s.count * BAR_WIDTH).div_ceil(total).min(BAR_WIDTH - x);
        rects.push((x, w, s));
        x += w;
    }
    html! {
        figure.bar {
            svg width=(BAR_WIDTH) height="22" viewBox=(format!("0 0 {BAR_WIDTH} 22")) role="img" aria-label=(title) {
                rect.track x="0" y="0" width=(BAR_WIDTH) height="22" {}
                @for (x, w, s) in &rects {
                    rect class=(s.class) x=(x) y="0" width=(w) height="22" {
                        title { (s.name) ": " (s.count) }
                    }
                }
            }
            figcaption {
                (title) ": "
                @for (i, s) in segments.iter().enumerate() {
                    @if i > 0 { ", " }
                    span class=(format!("key {}", s.class)) {} (s.name) " " b { (s.count) }
                }
            }
        }
    }
}

/// Horizontal bars, one per `(name, count, class)`, longest first as given.
pub(crate) fn hbars(rows: &[(String, u64, &'static str)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let row_h = 22u64;
    let label_w = 360u64;
    let bar_w = 320u64;
    let h = row_h * u64::try_from(rows.len()).unwrap_or(0);
    html! {
        svg.hbars width=(label_w + bar_w + 70) height=(h) viewBox=(format!("0 0 {} {h}", label_w + bar_w + 70)) role="img" aria-label="issues per code" {
            @for (i, (name, count, class)) in rows.iter().enumerate() {
                @let y = row_h * u64::try_from(i).unwrap_or(0);
                text x=(label_w - 6) y=(y + 15) text-anchor="end" { (name) }
                rect class=(*class) x=(label_w) y=(y + 3) width=((count * bar_w).div_ceil(max).max(1)) height=(row_h - 6) {
                    title { (name) ": " (count) }
                }
                text x=(label_w + (count * bar_w).div_ceil(max) + 6) y=(y + 15) { (count) }
            }
        }
    }
}

/// Thousandths of a pixel as an SVG number.
fn px(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let a = milli.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

/// A box's rectangle (normalised when its width or height is negative) in thousandths of a
/// pixel, or `None` when a coordinate is missing.
pub(crate) fn box_rect(b: &BoxGeometry) -> Option<(i64, i64, i64, i64)> {
    let (mut x, mut y, mut w, mut h) = (b.left?, b.top?, b.width?, b.height?);
    if w < 0 {
        x = x.saturating_add(w);
        w = w.saturating_neg();
    }
    if h < 0 {
        y = y.saturating_add(h);
        h = h.saturating_neg();
    }
    Some((x, y, w, h))
}

/// The drawing's view box: the frame and every box, with a margin, in thousandths of a pixel.
pub(crate) fn view_box(
    width: Option<i64>,
    height: Option<i64>,
    boxes: &[BoxGeometry],
) -> (i64, i64, i64, i64) {
    let (mut x0, mut y0) = (0i64, 0i64);
    let (mut x1, mut y1) = (width.unwrap_or(0).max(0), height.unwrap_or(0).max(0));
    for (x, y, w, h) in boxes.iter().filter_map(box_rect) {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x.saturating_add(w));
        y1 = y1.max(y.saturating_add(h));
    }
    let (w, h) = (
        x1.saturating_sub(x0).max(1000),
        y1.saturating_sub(y0).max(1000),
    );
    let margin = w.max(h) / 50;
    (
        x0.saturating_sub(margin),
        y0.saturating_sub(margin),
        w.saturating_add(2 * margin),
        h.saturating_add(2 * margin),
    )
}

/// The class of a box: `err` when it has an annotation-level error, `warn` for a warning,
/// `box` otherwise; with the codes to label it.
fn box_state(image: &ShownImage, b: &BoxGeometry) -> (&'static str, Vec<String>) {
    let mut class = "box";
    let mut codes = Vec::new();
    for i in &image.issues {
        if i.level == Level::Annotation
            && i.annotation == Some(b.index)
            && i.attribute == b.attribute
        {
            if i.severity == Severity::Error {
                class = "err";
            } else if class == "box" {
                class = "warn";
            }
            codes.push(i.code.clone());
        }
    }
    (class, codes)
}

/// An image's frame (from `image_size`) with every box drawn; boxes in error are red and
/// labelled with their class and code; a box off the frame crosses the frame's outline.
pub(crate) fn image_drawing(image: &ShownImage) -> Option<Markup> {
    let g = image.geometry.as_ref()?;
    let (vx, vy, vw, vh) = view_box(g.width, g.height, &g.boxes);
    let font = (vw.max(vh) / 35).max(1);
    let stroke = (vw.max(vh) / 300).max(1);
    let href = image.pixels.as_ref().and_then(|p| match p {
        ImagePixels::Url(u) => Some(u.clone()),
        ImagePixels::Embedded { mime, bytes } => {
            Some(format!("data:{mime};base64,{}", super::base64(bytes)))
        }
        ImagePixels::Missing(_) => None,
    });
    Some(html! {
        svg.image width="360" viewBox=(format!("{} {} {} {}", px(vx), px(vy), px(vw), px(vh))) role="img" aria-label="image frame and boxes" {
            @if let (Some(w), Some(h)) = (g.width, g.height) {
                @if let Some(href) = &href {
                    image x="0" y="0" width=(px(w)) height=(px(h)) preserveAspectRatio="none" href=(href) {}
                }
                rect.frame x="0" y="0" width=(px(w)) height=(px(h)) stroke-width=(px(stroke)) {}
            }
            @for b in &g.boxes {
                @if let Some((x, y, w, h)) = box_rect(b) {
                    @let (class, codes) = box_state(image, b);
                    g class=(class) {
                        rect x=(px(x)) y=(px(y)) width=(px(w)) height=(px(h)) stroke-width=(px(stroke)) {
                            title { (b.label) @for c in &codes { " " (c) } }
                        }
                        @if class != "box" {
                            text x=(px(x)) y=(px(y.saturating_sub(font / 4))) font-size=(px(font)) {
                                (b.label) @for c in &codes { " " (c) }
                            }
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(left: i64, top: i64, width: i64, height: i64) -> BoxGeometry {
        BoxGeometry {
            attribute: "bb".into(),
            index: 0,
            label: "cat".into(),
            left: Some(left * 1000),
            top: Some(top * 1000),
            width: Some(width * 1000),
            height: Some(height * 1000),
        }
    }

    #[test]
    fn an_off_frame_box_widens_the_view_beyond_the_frame() {
        // Frame 100x50; a box from x=90 to 130 and y=-10 to 20 crosses the right and top edges.
        let (x, y, w, h) = view_box(Some(100_000), Some(50_000), &[b(90, -10, 40, 30)]);
        let margin = 130_000 / 50;
        assert_eq!((x, y), (-margin, -10_000 - margin));
        assert_eq!((w, h), (130_000 + 2 * margin, 60_000 + 2 * margin));
    }

    #[test]
    fn negative_sizes_are_drawn_normalised() {
        assert_eq!(
            box_rect(&b(50, 50, -20, -10)),
            Some((30_000, 40_000, 20_000, 10_000))
        );
        let mut missing = b(0, 0, 1, 1);
        missing.top = None;
        assert_eq!(box_rect(&missing), None);
    }

    #[test]
    fn numbers_keep_three_decimals() {
        assert_eq!(px(-1500), "-1.500");
        assert_eq!(px(640_000), "640.000");
        assert_eq!(px(7), "0.007");
    }
}

//! The frame and bounding boxes of an image, read from its JSON line for the SVG drawing.
//!
//! Coordinates are kept in thousandths of a pixel (`i64`), so that the values compare exactly
//! and a hostile `1e308` cannot overflow the drawing: every coordinate is clamped to
//! ±[`MAX_COORD_PX`] pixels.

use serde_json::Value;

/// Most boxes drawn for one image; the others are counted in [`ImageGeometry::more_boxes`].
/// Rekognition accepts at most [`MAX_BOXES`](crate::MAX_BOXES) per image.
pub const MAX_DRAWN_BOXES: usize = 256;
/// Coordinates are clamped to this many pixels either side of 0.
pub const MAX_COORD_PX: i64 = 1_000_000_000;
/// Longest label or attribute name kept for a box, in bytes.
const MAX_NAME_BYTES: usize = 200;

/// One bounding box as written in the manifest, in thousandths of a pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct BoxGeometry {
    /// The label attribute holding the box.
    pub attribute: String,
    /// 0-based index in the attribute's `annotations`.
    pub index: u32,
    /// The class name from the attribute's `class-map`, else the `class_id` as written.
    pub label: String,
    /// `left`, when it is a number.
    pub left: Option<i64>,
    /// `top`, when it is a number.
    pub top: Option<i64>,
    /// `width`, when it is a number.
    pub width: Option<i64>,
    /// `height`, when it is a number.
    pub height: Option<i64>,
}

/// What is needed to draw an image's frame and boxes without its pixels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct ImageGeometry {
    /// 1-based physical line.
    pub line: u64,
    /// `image_size[0].width` of the first attribute that gives one, in thousandths of a pixel.
    pub width: Option<i64>,
    /// `image_size[0].height`, likewise.
    pub height: Option<i64>,
    /// The boxes, at most [`MAX_DRAWN_BOXES`].
    pub boxes: Vec<BoxGeometry>,
    /// Boxes not kept.
    pub more_boxes: u32,
}

/// A JSON number as thousandths of a pixel, clamped.
fn milli(v: Option<&Value>) -> Option<i64> {
    let f = v?.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let clamped = f.clamp(-(MAX_COORD_PX as f64), MAX_COORD_PX as f64);
    #[allow(clippy::cast_possible_truncation)]
    Some((clamped * 1000.0).round() as i64)
}

fn capped(s: &str) -> String {
    let mut end = s.len().min(MAX_NAME_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Reads the frame and boxes of one JSON line; `None` when the line is not a JSON object or
/// has no bounding-box attribute (an object with an `annotations` array).
pub fn image_geometry(line_no: u64, line: &[u8]) -> Option<ImageGeometry> {
    let Value::Object(map) = serde_json::from_slice::<Value>(line).ok()? else {
        return None;
    };
    let mut g = ImageGeometry {
        line: line_no,
        ..ImageGeometry::default()
    };
    let mut found = false;
    for (name, value) in &map {
        let Some(annotations) = value.get("annotations").and_then(Value::as_array) else {
            continue;
        };
        found = true;
        if g.width.is_none() || g.height.is_none() {
            let size = value
                .get("image_size")
                .and_then(Value::as_array)
                .and_then(|a| a.first());
            if let Some(size) = size {
                g.width = milli(size.get("width"));
                g.height = milli(size.get("height"));
            }
        }
        let class_map = map
            .get(&format!("{name}-metadata"))
            .and_then(|m| m.get("class-map"));
        for (index, ann) in annotations.iter().enumerate() {
            if g.boxes.len() >= MAX_DRAWN_BOXES {
                g.more_boxes = g.more_boxes.saturating_add(1);
                continue;
            }
            let id = match ann.get("class_id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            let label = class_map
                .and_then(|m| m.get(&id))
                .and_then(Value::as_str)
                .map_or_else(|| id.clone(), str::to_owned);
            g.boxes.push(BoxGeometry {
                attribute: capped(name),
                index: u32::try_from(index).unwrap_or(u32::MAX),
                label: capped(&label),
                left: milli(ann.get("left")),
                top: milli(ann.get("top")),
                width: milli(ann.get("width")),
                height: milli(ann.get("height")),
            });
        }
    }
    found.then_some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_frame_are_read_with_their_class_names() {
        let line = br#"{"source-ref":"s3://b/a.jpg","bb":{"image_size":[{"width":640,"height":480.5,"depth":3}],"annotations":[{"class_id":1,"left":-10,"top":5,"width":100.25,"height":"x"},{"class_id":7,"left":1e308,"top":0,"width":1,"height":1}]},"bb-metadata":{"class-map":{"1":"<cat>"}}}"#;
        let g = image_geometry(3, line).unwrap();
        assert_eq!(
            (g.line, g.width, g.height),
            (3, Some(640_000), Some(480_500))
        );
        assert_eq!(g.boxes.len(), 2);
        assert_eq!(g.boxes[0].label, "<cat>");
        assert_eq!(g.boxes[0].left, Some(-10_000));
        assert_eq!(g.boxes[0].width, Some(100_250));
        assert_eq!(g.boxes[0].height, None);
        assert_eq!(g.boxes[1].label, "7");
        assert_eq!(g.boxes[1].left, Some(MAX_COORD_PX * 1000));
    }

    #[test]
    fn lines_without_boxes_have_no_geometry() {
        assert!(image_geometry(1, br#"{"source-ref":"s3://b/a.jpg","c":1}"#).is_none());
        assert!(image_geometry(1, b"not json").is_none());
        assert!(image_geometry(1, b"[1,2]").is_none());
    }

    #[test]
    fn boxes_past_the_cap_are_counted() {
        let anns: Vec<String> = (0..MAX_DRAWN_BOXES + 3)
            .map(|i| format!(r#"{{"class_id":{i},"left":0,"top":0,"width":1,"height":1}}"#))
            .collect();
        let line = format!(r#"{{"bb":{{"annotations":[{}]}}}}"#, anns.join(","));
        let g = image_geometry(1, line.as_bytes()).unwrap();
        assert_eq!((g.boxes.len(), g.more_boxes), (MAX_DRAWN_BOXES, 3));
    }
}

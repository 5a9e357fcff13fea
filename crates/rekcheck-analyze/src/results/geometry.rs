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
    milli_of(v?.as_f64()?)
}

/// `f` in thousandths of a pixel, clamped; `None` when it is not finite.
fn milli_of(f: f64) -> Option<i64> {
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
///
/// Read in one pass by `serde` visitors that keep only what a drawing needs (reading every line
/// of `check` again into a `serde_json::Value`, a tree of maps, was a third of its time); a
/// line they refuse (not JSON, not an object) is read into a `Value`. The two readings give the
/// same geometry (a differential test holds them to it), except that a number out of `f64`'s
/// range in a member the drawing does not read, or nesting deeper than 128 levels there, makes
/// the `Value` reading refuse the whole line, where the visitors read the boxes: such a line
/// gets a drawing where it got none.
pub fn image_geometry(line_no: u64, line: &[u8]) -> Option<ImageGeometry> {
    match visitors::image_geometry(line_no, line) {
        Ok(g) => g,
        Err(visitors::Refused) => value_geometry(line_no, line),
    }
}

/// The geometry read in one pass by `serde` visitors that keep only what a drawing needs, with
/// the semantics of [`value_geometry`]: object members by key order, the last of repeated keys
/// wins.
mod visitors {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    use super::{BoxGeometry, ImageGeometry, MAX_DRAWN_BOXES, capped, milli_of};

    /// The line cannot be read this way (not JSON, not an object): read the `Value`.
    pub(super) struct Refused;

    /// A value as thousandths of a pixel when it is a number (`Value::as_f64`).
    struct Coord(Option<i64>);

    /// A `class_id` as `Value` gives it: a string, or a number's text.
    struct Id(String);

    /// A value that is a string, else nothing (`Value::as_str`).
    struct Text(Option<String>);

    /// One element of `annotations`: all `None` when it is not an object.
    #[derive(Default)]
    struct Ann {
        id: String,
        left: Option<i64>,
        top: Option<i64>,
        width: Option<i64>,
        height: Option<i64>,
    }

    /// `annotations` when it is an array: its first [`MAX_DRAWN_BOXES`] elements and how many
    /// more there are.
    struct Anns(Option<(Vec<Ann>, u32)>);

    /// `image_size` when it is a non-empty array: the width and height of its first element.
    struct FirstSize(Option<(Option<i64>, Option<i64>)>);

    /// `class-map` when it is an object: its string values.
    struct ClassMap(Option<BTreeMap<String, Option<String>>>);

    /// A top-level member when it is an object: what a label attribute or its metadata holds.
    #[derive(Default)]
    struct Member {
        annotations: Option<(Vec<Ann>, u32)>,
        image_size: Option<(Option<i64>, Option<i64>)>,
        class_map: Option<BTreeMap<String, Option<String>>>,
    }

    struct MemberOf(Option<Member>);

    struct Line(BTreeMap<String, Option<Member>>);

    /// An object key a drawing reads, matched without allocating.
    enum Key {
        ClassId,
        Left,
        Top,
        Width,
        Height,
        Annotations,
        ImageSize,
        ClassMap,
        Other,
    }

    struct KeyVisitor;
    impl Visitor<'_> for KeyVisitor {
        type Value = Key;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E>(self, v: &str) -> Result<Key, E> {
            Ok(match v {
                "class_id" => Key::ClassId,
                "left" => Key::Left,
                "top" => Key::Top,
                "width" => Key::Width,
                "height" => Key::Height,
                "annotations" => Key::Annotations,
                "image_size" => Key::ImageSize,
                "class-map" => Key::ClassMap,
                _ => Key::Other,
            })
        }
    }
    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
            d.deserialize_str(KeyVisitor)
        }
    }

    /// Drains what is left of a map or sequence that is not read.
    fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    /// Implements the visits of a value that is only wanted as one JSON type: every other type
    /// gives `$none` (nested values drained).
    macro_rules! other_types_are {
        ($none:expr, $($skip:ident),*) => {
            $(other_types_are!(@one $none, $skip);)*
        };
        (@one $none:expr, scalars) => {
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> { Ok($none) }
            fn visit_unit<E>(self) -> Result<Self::Value, E> { Ok($none) }
        };
        (@one $none:expr, numbers) => {
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> { Ok($none) }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> { Ok($none) }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> { Ok($none) }
        };
        (@one $none:expr, strings) => {
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> { Ok($none) }
        };
        (@one $none:expr, maps) => {
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok($none)
            }
        };
        (@one $none:expr, seqs) => {
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok($none)
            }
        };
    }

    macro_rules! deserialize_any {
        ($ty:ident, $visitor:ident) => {
            impl<'de> Deserialize<'de> for $ty {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                    d.deserialize_any($visitor)
                }
            }
        };
    }

    struct CoordVisitor;
    impl<'de> Visitor<'de> for CoordVisitor {
        type Value = Coord;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        #[allow(clippy::cast_precision_loss)]
        fn visit_u64<E>(self, v: u64) -> Result<Coord, E> {
            Ok(Coord(milli_of(v as f64)))
        }
        #[allow(clippy::cast_precision_loss)]
        fn visit_i64<E>(self, v: i64) -> Result<Coord, E> {
            Ok(Coord(milli_of(v as f64)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Coord, E> {
            Ok(Coord(milli_of(v)))
        }
        other_types_are!(Coord(None), scalars, strings, maps, seqs);
    }
    deserialize_any!(Coord, CoordVisitor);

    struct IdVisitor;
    impl<'de> Visitor<'de> for IdVisitor {
        type Value = Id;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_u64<E>(self, v: u64) -> Result<Id, E> {
            Ok(Id(serde_json::Number::from(v).to_string()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Id, E> {
            Ok(Id(serde_json::Number::from(v).to_string()))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Id, E> {
            Ok(Id(serde_json::Number::from_f64(v)
                .map(|n| n.to_string())
                .unwrap_or_default()))
        }
        fn visit_str<E>(self, v: &str) -> Result<Id, E> {
            Ok(Id(v.to_owned()))
        }
        other_types_are!(Id(String::new()), scalars, maps, seqs);
    }
    deserialize_any!(Id, IdVisitor);

    struct TextVisitor;
    impl<'de> Visitor<'de> for TextVisitor {
        type Value = Text;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_str<E>(self, v: &str) -> Result<Text, E> {
            Ok(Text(Some(v.to_owned())))
        }
        other_types_are!(Text(None), scalars, numbers, maps, seqs);
    }
    deserialize_any!(Text, TextVisitor);

    struct AnnVisitor;
    impl<'de> Visitor<'de> for AnnVisitor {
        type Value = Ann;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ann, A::Error> {
            let mut a = Ann::default();
            while let Some(key) = map.next_key::<Key>()? {
                match key {
                    Key::ClassId => a.id = map.next_value::<Id>()?.0,
                    Key::Left => a.left = map.next_value::<Coord>()?.0,
                    Key::Top => a.top = map.next_value::<Coord>()?.0,
                    Key::Width => a.width = map.next_value::<Coord>()?.0,
                    Key::Height => a.height = map.next_value::<Coord>()?.0,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(a)
        }
        other_types_are!(Ann::default(), scalars, numbers, strings, seqs);
    }
    deserialize_any!(Ann, AnnVisitor);

    struct AnnsVisitor;
    impl<'de> Visitor<'de> for AnnsVisitor {
        type Value = Anns;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Anns, A::Error> {
            let mut kept = Vec::new();
            let mut more = 0u32;
            while kept.len() < MAX_DRAWN_BOXES {
                match seq.next_element::<Ann>()? {
                    Some(a) => kept.push(a),
                    None => return Ok(Anns(Some((kept, more)))),
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {
                more = more.saturating_add(1);
            }
            Ok(Anns(Some((kept, more))))
        }
        other_types_are!(Anns(None), scalars, numbers, strings, maps);
    }
    deserialize_any!(Anns, AnnsVisitor);

    /// An `image_size` element's width and height: both `None` when it is not an object.
    struct Size((Option<i64>, Option<i64>));

    struct SizeVisitor;
    impl<'de> Visitor<'de> for SizeVisitor {
        type Value = Size;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut w, mut h) = (None, None);
            while let Some(key) = map.next_key::<Key>()? {
                match key {
                    Key::Width => w = map.next_value::<Coord>()?.0,
                    Key::Height => h = map.next_value::<Coord>()?.0,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Size((w, h)))
        }
        other_types_are!(Size((None, None)), scalars, numbers, strings, seqs);
    }
    deserialize_any!(Size, SizeVisitor);

    struct FirstSizeVisitor;
    impl<'de> Visitor<'de> for FirstSizeVisitor {
        type Value = FirstSize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstSize, A::Error> {
            let first = seq.next_element::<Size>()?.map(|s| s.0);
            drain_seq(seq)?;
            Ok(FirstSize(first))
        }
        other_types_are!(FirstSize(None), scalars, numbers, strings, maps);
    }
    deserialize_any!(FirstSize, FirstSizeVisitor);

    struct ClassMapVisitor;
    impl<'de> Visitor<'de> for ClassMapVisitor {
        type Value = ClassMap;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClassMap, A::Error> {
            let mut m = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, Text>()? {
                m.insert(k, v.0);
            }
            Ok(ClassMap(Some(m)))
        }
        other_types_are!(ClassMap(None), scalars, numbers, strings, seqs);
    }
    deserialize_any!(ClassMap, ClassMapVisitor);

    struct MemberVisitor;
    impl<'de> Visitor<'de> for MemberVisitor {
        type Value = MemberOf;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MemberOf, A::Error> {
            let mut m = Member::default();
            while let Some(key) = map.next_key::<Key>()? {
                match key {
                    Key::Annotations => m.annotations = map.next_value::<Anns>()?.0,
                    Key::ImageSize => m.image_size = map.next_value::<FirstSize>()?.0,
                    Key::ClassMap => m.class_map = map.next_value::<ClassMap>()?.0,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(MemberOf(Some(m)))
        }
        other_types_are!(MemberOf(None), scalars, numbers, strings, seqs);
    }
    deserialize_any!(MemberOf, MemberVisitor);

    struct LineVisitor;
    impl<'de> Visitor<'de> for LineVisitor {
        type Value = Line;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line, A::Error> {
            let mut members = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, MemberOf>()? {
                members.insert(k, v.0);
            }
            Ok(Line(members))
        }
    }
    impl<'de> Deserialize<'de> for Line {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Line, D::Error> {
            d.deserialize_map(LineVisitor)
        }
    }

    pub(super) fn image_geometry(
        line_no: u64,
        line: &[u8],
    ) -> Result<Option<ImageGeometry>, Refused> {
        let map = serde_json::from_slice::<Line>(line).map_err(|_| Refused)?.0;
        let mut g = ImageGeometry {
            line: line_no,
            ..ImageGeometry::default()
        };
        let mut found = false;
        for (name, member) in &map {
            let Some(Member {
                annotations: Some((annotations, more)),
                image_size,
                ..
            }) = member
            else {
                continue;
            };
            found = true;
            if (g.width.is_none() || g.height.is_none())
                && let Some((w, h)) = image_size
            {
                g.width = *w;
                g.height = *h;
            }
            let class_map = map
                .get(&format!("{name}-metadata"))
                .and_then(|m| m.as_ref())
                .and_then(|m| m.class_map.as_ref());
            for (index, ann) in annotations.iter().enumerate() {
                if g.boxes.len() >= MAX_DRAWN_BOXES {
                    g.more_boxes = g.more_boxes.saturating_add(1);
                    continue;
                }
                let label = class_map
                    .and_then(|m| m.get(&ann.id))
                    .and_then(Option::as_deref)
                    .unwrap_or(&ann.id);
                g.boxes.push(BoxGeometry {
                    attribute: capped(name),
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    label: capped(label),
                    left: ann.left,
                    top: ann.top,
                    width: ann.width,
                    height: ann.height,
                });
            }
            g.more_boxes = g.more_boxes.saturating_add(*more);
        }
        Ok(found.then_some(g))
    }
}

/// For the differential test and fuzz target only (the `fuzzing` feature, off by default):
/// panics when the visitors read `line` (a valid `serde_json::Value`) into another geometry
/// than the `Value` reading, or when [`image_geometry`] differs from the `Value` reading on a
/// line the visitors refuse. Returns whether the visitors read it.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
// Re-exported by the crate only with `fuzzing`; the unit tests call it directly.
#[allow(unreachable_pub)]
pub fn geometry_agrees(line: &[u8]) -> bool {
    let reference = value_geometry(1, line);
    if let Ok(g) = visitors::image_geometry(1, line) {
        if serde_json::from_slice::<Value>(line).is_ok() {
            assert_eq!(g, reference, "{}", String::from_utf8_lossy(line));
        }
        true
    } else {
        assert_eq!(image_geometry(1, line), reference);
        false
    }
}

/// [`image_geometry`] through a `serde_json::Value` of the whole line: lines with escapes, and
/// the reference the visitors are held to.
pub(crate) fn value_geometry(line_no: u64, line: &[u8]) -> Option<ImageGeometry> {
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

    /// Where the visitors give an answer and the line is a valid `Value`, it is the `Value`
    /// reading's answer; a line they refuse is read into a `Value`.
    fn agree(line: &[u8]) -> bool {
        geometry_agrees(line)
    }

    #[test]
    fn the_visitors_agree_with_the_value_reading_on_edge_lines() {
        let edges = [
            r#"{"a":{"annotations":[{"class_id":1,"left":1}]},"a":{"annotations":[{"class_id":2,"left":2}],"image_size":[{"width":5,"height":6}]}}"#,
            r#"{"a":{"annotations":[{"class_id":1}],"annotations":[{"class_id":"01","top":-3.5}]},"a-metadata":{"class-map":{"01":"x","1":"y"}}}"#,
            r#"{"a":{"annotations":{"class_id":1}},"b":{"annotations":[1,"x",null,{"class_id":true,"left":"1"}]}}"#,
            r#"{"a":{"annotations":[],"image_size":[]},"b":{"annotations":[],"image_size":[7]},"c":{"annotations":[],"image_size":[{"width":1}]}}"#,
            r#"{"a":{"annotations":[{"class_id":0}],"image_size":[{"width":1,"height":2},{"width":3,"height":4}]}}"#,
            r#"{"a":{"annotations":[{"class_id":1.0,"width":1e308,"height":-1e308}],"image_size":[{"width":12345678901234567890,"height":0.0005}]},"a-metadata":{"class-map":{"1.0":"one","1":"uno"}}}"#,
            r#"{"a":{"annotations":[{"class_id":3}]},"a-metadata":{"class-map":{"3":7}}}"#,
            r#"{"a":{"annotations":[{"class_id":3}]},"a-metadata":[1],"b-metadata":{"class-map":{"3":"z"}}}"#,
            r#"{"a":[1,2],"b":"annotations","c":{"x":{"annotations":[{"class_id":1}]}}}"#,
            r#"  {"z":{"annotations":[{"class_id":0}]},"m":{"annotations":[{"class_id":0}],"image_size":[{"width":2,"height":3}]}}  "#,
            r#"{"a":{"annotations":[{"class_id":"é","left":1}]},"a-metadata":{"class-map":{"é":"ü"}}}"#,
            r#"[{"a":{"annotations":[]}}]"#,
            r#"{"a":{"annotations":[{"class_id":1}]}"#,
            r#"{"a":{"annotations":[{"class_id":1}]}} x"#,
            r#"{"a\u0041":{"annotations":[{"class_id":1}]}}"#,
            r#"{"a":{"annotations":[{"class_id":1e400}]}}"#,
            "",
            "null",
        ];
        for line in edges {
            agree(line.as_bytes());
        }
        let many: Vec<String> = (0..MAX_DRAWN_BOXES + 2)
            .map(|i| format!(r#"{{"class_id":{i}}}"#))
            .collect();
        let line = format!(
            r#"{{"a":{{"annotations":[{}]}},"b":{{"annotations":[{{"class_id":1}}]}}}}"#,
            many.join(",")
        );
        assert!(agree(line.as_bytes()));
    }

    /// Generated lines of both profiles, and the same lines mutated, read both ways.
    #[test]
    fn the_visitors_agree_with_the_value_reading_on_generated_lines() {
        use rekcheck_testkit::generate::{Profile, Rng, generate_lines};
        const SNIPPETS: &[&str] = &[
            r#""annotations":[{"class_id":1,"left":2}],"#,
            r#""image_size":[{"width":9,"height":8}],"#,
            r#""class_id":"7","#,
            r#""class-map":{"0":"a","7":"b"},"#,
            "[],",
            "{},",
            "1.5,",
            "null,",
        ];
        let mut rng = Rng::new(17);
        let (mut lines, mut visited) = (0u32, 0u32);
        for profile in [Profile::Clean, Profile::Failed] {
            let mut data = Vec::new();
            generate_lines(&mut data, 1500, &profile.options(5)).unwrap();
            for line in data.split(|&b| b == b'\n') {
                for edits in 0..3 {
                    let mut l = line.to_vec();
                    for _ in 0..edits {
                        let at = usize::try_from(rng.below(l.len() as u64 + 1)).unwrap();
                        if rng.below(2) == 0 {
                            let s = SNIPPETS
                                [usize::try_from(rng.below(SNIPPETS.len() as u64)).unwrap()];
                            let at = l[..at]
                                .iter()
                                .rposition(|&b| b == b'{')
                                .map_or(at, |i| i + 1);
                            l.splice(at..at, s.bytes());
                        } else {
                            let end = (at + usize::try_from(rng.below(6)).unwrap()).min(l.len());
                            l.drain(at..end);
                        }
                    }
                    lines += 1;
                    visited += u32::from(agree(&l));
                }
            }
        }
        // Nearly every unmutated line, and many mutated ones, are read by the visitors.
        assert!(visited > lines / 3, "{visited} of {lines}");
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

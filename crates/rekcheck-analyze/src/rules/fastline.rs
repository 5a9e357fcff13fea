//! The first step of `check`'s fast path: a well-formed input line read in one pass into a
//! [`FastLine`] (its `source-ref`, its label attributes, its `-metadata` objects), borrowed from
//! the line. The rules then decide whether the line is well formed enough to skip the member by
//! member reading (`crate::rules::validate`).
//!
//! Two readers give a [`FastLine`]: `serde` visitors, which read any line, and [`scan`], a
//! scanner over the line's bytes (the report's, [`Parser`]) that reads the common line about
//! twice as fast and declines whatever it does not fully understand: a backslash anywhere (escapes
//! stay the visitors'), a number with a sign, an exponent or more than 15 digits (where
//! `serde_json` and `str::parse` could round differently), an array where the visitors would read
//! a struct from one, nesting past [`MAX_FAST_DEPTH`]. A declined line goes to the visitors. The
//! invariant: where [`scan`] gives a line, the visitors give the same one; a differential test
//! and the `check_scan` fuzz target hold it ([`scan_agrees`]).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize as _;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::results::fast::{MAX_FAST_DEPTH, Parser};
use crate::results::line::Str;

// A line the scanner reads is never too deep for the full reader (`too_deep` is not run on it).
const _: () = assert!(MAX_FAST_DEPTH <= crate::MAX_DEPTH);

/// Keys that are never label attributes.
pub(crate) fn is_service_key(key: &str) -> bool {
    matches!(
        key,
        "source-ref" | "errors" | "warnings" | "cl-errors" | "cl-warnings" | "cl-metadata"
    )
}

const METADATA: &str = "-metadata";

/// One bounding box of a well-formed attribute.
#[derive(Debug, PartialEq, serde::Deserialize)]
#[serde(from = "FastBox")]
pub(crate) struct BoxSpec {
    /// The `class_id` as a class-map key (`"3"`), when it is an integer.
    pub(crate) class_id: u64,
    /// left, top, width, height.
    pub(crate) rect: [f64; 4],
}

/// A line read in one typed pass (the fast path of [`crate::check_line`]): its `source-ref`, the
/// values of its other keys as label attributes, and its `-metadata` objects by attribute name.
/// Any value of another shape fails the pass.
#[derive(Debug, PartialEq)]
pub(crate) struct FastLine<'a> {
    pub(crate) source_ref: Option<Cow<'a, str>>,
    pub(crate) attrs: Vec<(Cow<'a, str>, FastAttr)>,
    pub(crate) metas: Vec<(Cow<'a, str>, FastMeta<'a>)>,
}

impl<'de> de::Deserialize<'de> for FastLine<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FastLine<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut line = FastLine {
                    source_ref: None,
                    attrs: Vec::new(),
                    metas: Vec::new(),
                };
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    if key == "source-ref" {
                        if line.source_ref.is_some() {
                            return Err(de::Error::custom("two source-refs"));
                        }
                        line.source_ref = Some(map.next_value::<Str<'de>>()?.0);
                    } else if is_service_key(&key) || key == "source-ref-metadata" {
                        map.next_value::<de::IgnoredAny>()?;
                    } else if key.ends_with(METADATA) {
                        let base = match key {
                            Cow::Borrowed(k) => Cow::Borrowed(&k[..k.len() - METADATA.len()]),
                            Cow::Owned(mut k) => {
                                k.truncate(k.len() - METADATA.len());
                                Cow::Owned(k)
                            }
                        };
                        line.metas.push((base, map.next_value()?));
                    } else {
                        line.attrs.push((key, map.next_value()?));
                    }
                }
                Ok(line)
            }
        }
        d.deserialize_map(V)
    }
}

/// A label attribute's value: a number (image-level) or a bounding-box object.
#[derive(Debug, PartialEq)]
pub(crate) enum FastAttr {
    Number(f64),
    Detection(FastDetection),
}

impl<'de> de::Deserialize<'de> for FastAttr {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FastAttr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a bounding-box object")
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FastAttr, E> {
                Ok(FastAttr::Number(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FastAttr, E> {
                Ok(FastAttr::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FastAttr, E> {
                Ok(FastAttr::Number(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FastAttr, A::Error> {
                de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(FastAttr::Detection)
            }
        }
        d.deserialize_any(V)
    }
}

/// A `-metadata` object with the fields the rules read.
#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct FastMeta<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) ty: Cow<'a, str>,
    #[serde(rename = "class-name", borrow, default)]
    pub(crate) class_name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) confidence: Option<f64>,
    #[serde(rename = "human-annotated", borrow)]
    pub(crate) human_annotated: Cow<'a, str>,
    #[serde(rename = "creation-date", borrow)]
    pub(crate) creation_date: Cow<'a, str>,
    /// The class-map's JSON text.
    #[serde(rename = "class-map", borrow, default, deserialize_with = "raw_text")]
    pub(crate) class_map: Option<&'a str>,
    #[serde(default)]
    pub(crate) objects: Option<FastObjects>,
}

/// The JSON text of a value that is not `null`.
fn raw_text<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<&'de str>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(RawValue::get))
}

#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct FastDetection {
    pub(crate) image_size: OneSize,
    pub(crate) annotations: Option<Vec<BoxSpec>>,
}

/// An `image_size` array of exactly one size.
#[derive(Debug, PartialEq)]
pub(crate) struct OneSize(pub(crate) FastSize);

impl<'de> de::Deserialize<'de> for OneSize {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of one size")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneSize, A::Error> {
                let one = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("no size"))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("more than one size"));
                }
                Ok(OneSize(one))
            }
        }
        d.deserialize_seq(V)
    }
}

/// The number of entries of an `objects` array in which every entry has a number `confidence`.
#[derive(Debug, PartialEq)]
pub(crate) struct FastObjects(pub(crate) usize);

impl<'de> de::Deserialize<'de> for FastObjects {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FastObjects;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of objects with a confidence")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<FastObjects, A::Error> {
                let mut n = 0;
                while seq.next_element::<FastObject>()?.is_some() {
                    n += 1;
                }
                Ok(FastObjects(n))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Debug, PartialEq, serde::Deserialize)]
pub(crate) struct FastSize {
    pub(crate) width: f64,
    pub(crate) height: f64,
    pub(crate) depth: f64,
}

impl From<FastBox> for BoxSpec {
    fn from(a: FastBox) -> BoxSpec {
        BoxSpec {
            class_id: a.class_id,
            rect: [a.left, a.top, a.width, a.height],
        }
    }
}

#[derive(serde::Deserialize)]
struct FastBox {
    class_id: u64,
    top: f64,
    left: f64,
    width: f64,
    height: f64,
}

#[derive(serde::Deserialize)]
struct FastObject {
    #[allow(dead_code)]
    confidence: f64,
}

// ---------------------------------------------------------------------------------------------
// The scanner.

/// Reads `text` (one line, its `\r` removed) into the [`FastLine`] the visitors would give, or
/// `None` when it declines the line (see the module's text) or the visitors would refuse it.
pub(crate) fn scan(text: &str) -> Option<FastLine<'_>> {
    let b = text.as_bytes();
    if memchr::memchr(b'\\', b).is_some() {
        return None;
    }
    let mut p = Parser::new(b);
    let mut line = FastLine {
        source_ref: None,
        attrs: Vec::new(),
        metas: Vec::new(),
    };
    p.ws();
    p.object(1, |p, key, d| {
        let k = &text[key.0..key.1];
        if k == "source-ref" {
            if line.source_ref.is_some() {
                return None;
            }
            line.source_ref = Some(string(p, text)?);
        } else if is_service_key(k) || k == "source-ref-metadata" {
            p.skip(d)?;
        } else if let Some(base) = k.strip_suffix(METADATA) {
            line.metas.push((Cow::Borrowed(base), meta(p, text, d)?));
        } else {
            line.attrs.push((Cow::Borrowed(k), attribute(p, text, d)?));
        }
        Some(())
    })?;
    p.ws();
    (p.pos() == b.len()).then_some(line)
}

/// A string (no escapes: the line has no backslash).
fn string<'a>(p: &mut Parser<'_>, text: &'a str) -> Option<Cow<'a, str>> {
    let (a, b) = p.string()?;
    Some(Cow::Borrowed(&text[a..b]))
}

/// A number both readers read exactly: no sign, no exponent, at most 15 digits
/// ([`Parser::small_number`]). `serde_json` reads it as the integer of all its digits divided
/// once by a power of ten, both exact, so the division is correctly rounded, as `str::parse` is:
/// the two give the same `f64`, and so does this.
fn float(p: &mut Parser<'_>) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (n, frac, _) = p.small_number()?;
    // At most 15 digits: below 2^53, so the conversion is exact, and through `i64` it is one
    // instruction (the `u64` one takes five). An integer (the usual pixel coordinate) skips the
    // division, which was most of this function's time: dividing by 1 gives the same `f64`.
    let n = i64::try_from(n).ok()?;
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    if frac == 0 {
        return Some(n);
    }
    Some(n / POW10.get(frac as usize)?)
}

/// A `u64` as `serde` reads one: an integer, not `1.0`.
fn uint(p: &mut Parser<'_>) -> Option<u64> {
    match p.small_number()? {
        (n, _, false) => Some(n),
        _ => None,
    }
}

/// `null` (`Some(None)`), or the value `f` reads.
#[allow(clippy::option_option)]
fn nullable<T>(
    p: &mut Parser<'_>,
    f: impl FnOnce(&mut Parser<'_>) -> Option<T>,
) -> Option<Option<T>> {
    if p.peek()? == b'n' {
        p.literal(b"null")?;
        return Some(None);
    }
    f(p).map(Some)
}

/// Sets a field read once: a repeated field fails a `serde` derive ("duplicate field").
fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

/// A label attribute: a number, or an object read as [`FastDetection`].
fn attribute(p: &mut Parser<'_>, text: &str, d: usize) -> Option<FastAttr> {
    match p.peek()? {
        b'{' => detection(p, text, d).map(FastAttr::Detection),
        b'0'..=b'9' => float(p).map(FastAttr::Number),
        _ => None,
    }
}

fn detection(p: &mut Parser<'_>, text: &str, d: usize) -> Option<FastDetection> {
    let mut size = None;
    let mut annotations = None;
    p.object(d + 1, |p, key, d| match &text[key.0..key.1] {
        "image_size" => once(&mut size, one_size(p, text, d)),
        "annotations" => once(
            &mut annotations,
            nullable(p, |p| {
                if p.peek()? != b'[' {
                    return None;
                }
                let mut boxes = Vec::new();
                p.array(d + 1, |p, _, d| {
                    boxes.push(bounding_box(p, text, d)?);
                    Some(())
                })?;
                Some(boxes)
            }),
        ),
        _ => p.skip(d),
    })?;
    Some(FastDetection {
        image_size: size?,
        annotations: annotations.flatten(),
    })
}

fn one_size(p: &mut Parser<'_>, text: &str, d: usize) -> Option<OneSize> {
    if p.peek()? != b'[' {
        return None;
    }
    let mut one = None;
    p.array(d + 1, |p, i, d| {
        if i > 0 {
            return None;
        }
        one = Some(size(p, text, d)?);
        Some(())
    })?;
    one.map(OneSize)
}

fn size(p: &mut Parser<'_>, text: &str, d: usize) -> Option<FastSize> {
    if p.peek()? != b'{' {
        return None;
    }
    let (mut width, mut height, mut depth) = (None, None, None);
    p.object(d + 1, |p, key, d| {
        let slot = match &text[key.0..key.1] {
            "width" => &mut width,
            "height" => &mut height,
            "depth" => &mut depth,
            _ => return p.skip(d),
        };
        once(slot, float(p))
    })?;
    Some(FastSize {
        width: width?,
        height: height?,
        depth: depth?,
    })
}

fn bounding_box(p: &mut Parser<'_>, text: &str, d: usize) -> Option<BoxSpec> {
    if p.peek()? != b'{' {
        return None;
    }
    let mut class_id = None;
    let [mut left, mut top, mut width, mut height] = [None; 4];
    p.object(d + 1, |p, key, d| {
        let slot = match &text[key.0..key.1] {
            "class_id" => return once(&mut class_id, uint(p)),
            "left" => &mut left,
            "top" => &mut top,
            "width" => &mut width,
            "height" => &mut height,
            _ => return p.skip(d),
        };
        once(slot, float(p))
    })?;
    Some(BoxSpec {
        class_id: class_id?,
        rect: [left?, top?, width?, height?],
    })
}

fn meta<'a>(p: &mut Parser<'_>, text: &'a str, d: usize) -> Option<FastMeta<'a>> {
    if p.peek()? != b'{' {
        return None;
    }
    let (mut ty, mut class_name, mut confidence) = (None, None, None);
    let (mut human_annotated, mut creation_date) = (None, None);
    let (mut class_map, mut objects) = (None, None);
    p.object(d + 1, |p, key, d| match &text[key.0..key.1] {
        "type" => once(&mut ty, string(p, text)),
        "class-name" => once(&mut class_name, nullable(p, |p| string(p, text))),
        "confidence" => once(&mut confidence, nullable(p, float)),
        "human-annotated" => once(&mut human_annotated, string(p, text)),
        "creation-date" => once(&mut creation_date, string(p, text)),
        "class-map" => once(
            &mut class_map,
            nullable(p, |p| {
                let start = p.pos();
                p.skip(d)?;
                Some(&text[start..p.pos()])
            }),
        ),
        "objects" => once(
            &mut objects,
            nullable(p, |p| {
                if p.peek()? != b'[' {
                    return None;
                }
                let mut n = 0;
                p.array(d + 1, |p, _, d| {
                    object_with_confidence(p, text, d)?;
                    n += 1;
                    Some(())
                })?;
                Some(FastObjects(n))
            }),
        ),
        _ => p.skip(d),
    })?;
    Some(FastMeta {
        ty: ty?,
        class_name: class_name.flatten(),
        confidence: confidence.flatten(),
        human_annotated: human_annotated?,
        creation_date: creation_date?,
        class_map: class_map.flatten(),
        objects: objects.flatten(),
    })
}

/// An `objects` entry: an object with a number `confidence`.
fn object_with_confidence(p: &mut Parser<'_>, text: &str, d: usize) -> Option<()> {
    if p.peek()? != b'{' {
        return None;
    }
    let mut confidence = None;
    p.object(d + 1, |p, key, d| match &text[key.0..key.1] {
        "confidence" => once(&mut confidence, float(p)),
        _ => p.skip(d),
    })?;
    confidence.map(|_| ())
}

/// Whether the scanner and the visitors agree on `line`: where [`scan`] reads it, the visitors
/// read the same [`FastLine`]. Panics when they do not (for the fuzz target and the tests).
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
// Re-exported by the crate only with `fuzzing`; the unit tests call it directly.
#[allow(unreachable_pub)]
pub fn scan_agrees(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let text = text.strip_suffix('\r').unwrap_or(text);
    let Some(scanned) = scan(text) else {
        return false;
    };
    let visited = serde_json::from_str::<FastLine<'_>>(text);
    assert_eq!(visited.as_ref().ok(), Some(&scanned), "{text}");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETECTION: &str = r#"{"source-ref":"s3://b/1.jpg","bb":{"image_size":[{"width":640,"height":480,"depth":3}],"annotations":[{"class_id":0,"top":10.5,"left":20,"width":30.25,"height":40}]},"bb-metadata":{"objects":[{"confidence":0.91}],"class-map":{"0":"cat"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-01-01T00:00:00.000Z","job-name":"j"}}"#;
    const CLASSIFICATION: &str = r#"{"source-ref":"s3://b/2.jpg","cls":1,"cls-metadata":{"confidence":1,"class-name":"dog","type":"groundtruth/image-classification","human-annotated":"no","creation-date":"2026"}}"#;

    /// Lines the scanner reads (and the visitors read the same way).
    #[test]
    #[allow(clippy::float_cmp)]
    fn the_scanner_reads_well_formed_lines_as_the_visitors_do() {
        for line in [
            DETECTION,
            CLASSIFICATION,
            // Repeated keys: both attributes and both metadata are kept, in order.
            r#"{"source-ref":"s3://b/3.jpg","a":1,"a":2.5,"a-metadata":{"type":"t","human-annotated":"yes","creation-date":"d"},"a-metadata":{"type":"u","human-annotated":"no","creation-date":"e"}}"#,
            // Nulls, unknown fields, service keys and nested values skipped, white space.
            " {\"source-ref\" : \"s3://b/4.jpg\" , \"errors\":[{\"code\":\"X\"}], \"x\" : {\"image_size\":[{\"width\":1,\"height\":2,\"depth\":3,\"q\":[[{}]]}],\"annotations\":null}, \"x-metadata\":{\"class-name\":null,\"confidence\":null,\"class-map\":null,\"objects\":null,\"type\":\"t\",\"human-annotated\":\"\",\"creation-date\":\"\",\"more\":{\"a\":[true,false,null,-1.5]}}}\t",
            // No source-ref, an empty metadata name, a class-map of any shape.
            r#"{"-metadata":{"type":"t","human-annotated":"yes","creation-date":"d","class-map":[1,{"2":3}]}}"#,
            "{}",
        ] {
            assert!(scan_agrees(line.as_bytes()), "{line}");
        }
        let fast = scan(DETECTION).unwrap();
        let (name, FastAttr::Detection(d)) = &fast.attrs[0] else {
            panic!()
        };
        assert_eq!(name, "bb");
        assert_eq!(
            d.annotations.as_ref().unwrap()[0].rect,
            [20.0, 10.5, 30.25, 40.0]
        );
        assert_eq!(fast.metas[0].1.class_map, Some(r#"{"0":"cat"}"#));
    }

    /// Lines the scanner leaves to the visitors, whether they read them or not.
    #[test]
    fn the_scanner_declines_what_it_does_not_fully_read() {
        for line in [
            // An escape anywhere.
            r#"{"source-ref":"s3://b/\u0031.jpg"}"#,
            // Numbers with a sign, an exponent, many digits, or a float class id.
            r#"{"a":-1}"#,
            r#"{"a":1e2}"#,
            r#"{"a":1234567890.1234567}"#,
            r#"{"a":{"image_size":[{"width":1,"height":2,"depth":3}],"annotations":[{"class_id":1.0,"top":0,"left":0,"width":1,"height":1}]}}"#,
            // A struct written as an array, two sizes, a repeated field.
            r#"{"a-metadata":["t","c",1,"yes","d"]}"#,
            r#"{"a":{"image_size":[{"width":1,"height":2,"depth":3},{"width":1,"height":2,"depth":3}]}}"#,
            r#"{"a-metadata":{"type":"t","type":"t","human-annotated":"yes","creation-date":"d"}}"#,
            // Not JSON the visitors read: two source-refs, a string attribute, trailing text.
            r#"{"source-ref":"s3://b/1","source-ref":"s3://b/1"}"#,
            r#"{"a":"1"}"#,
            "{} x",
            // Too deep for the scanner, not for the full reader.
            &format!(r#"{{"x":{}{}}}"#, "[".repeat(70), "]".repeat(70)),
        ] {
            assert!(scan(line).is_none(), "{line}");
        }
    }

    /// Generated manifests (clean and error-dense), and every line mutated: wherever the
    /// scanner reads a line, the visitors read the same.
    #[test]
    fn the_scanner_agrees_with_the_visitors_on_generated_and_mutated_lines() {
        let mut text = Vec::new();
        for (seed, issue_per_mille) in [(11, 50), (12, 300)] {
            let opts = rekcheck_testkit::generate::GenOptions {
                seed,
                issue_per_mille,
                ..Default::default()
            };
            rekcheck_testkit::generate::generate_lines(&mut text, 400, &opts).unwrap();
        }
        let (mut read, mut mutated_read) = (0, 0);
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let bytes: &[u8] = b"{}[]\",:0123456789.-e ntf\\xa";
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            read += usize::from(scan_agrees(line));
            for _ in 0..20 {
                let mut m = line.to_vec();
                #[allow(clippy::cast_possible_truncation)]
                let at = (next() % m.len() as u64) as usize;
                #[allow(clippy::cast_possible_truncation)]
                let b = bytes[(next() % bytes.len() as u64) as usize];
                match next() % 3 {
                    0 => m[at] = b,
                    1 => m.insert(at, b),
                    _ => {
                        m.remove(at);
                    }
                }
                mutated_read += usize::from(scan_agrees(&m));
            }
        }
        // Most generated lines, and many mutated ones, are read by the scanner.
        assert!(read > 600, "{read}");
        assert!(mutated_read > 4000, "{mutated_read}");
    }
}

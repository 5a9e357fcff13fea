//! `report.html`'s image pixels (`--html-images none|presign|embed`) end to end against moto's
//! S3 server: a manifest whose `source-ref`s name images uploaded to moto.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rekcheck_testkit::moto::{Moto, isolated_aws_env, put_objects, s3_client};

const BUCKET: &str = "rekcheck-img";
/// A key with a space: the presigned URL must encode it.
const SMALL_KEY: &str = "imgs/a small.png";
const BIG_KEY: &str = "imgs/big.jpg";
/// A 2x2 RGB PNG.
const PNG: [u8; 75] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xc0,
    0x00, 0xc2, 0x0c, 0xff, 0x81, 0x00, 0x00, 0x1f, 0xee, 0x05, 0xfb, 0x0b, 0xd9, 0x68, 0x8b, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
/// The size of the JPEG too large to embed: one byte over `MAX_EMBED_BYTES`.
const BIG_LEN: u64 = rekcheck::MAX_EMBED_BYTES + 1;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An object-detection line of a `width`x`height` image whose one box is in error.
fn line(source_ref: &str, width: u32, height: u32) -> String {
    let r = serde_json::to_string(source_ref).unwrap();
    format!(
        r#"{{"source-ref":{r},"bounding-box":{{"image_size":[{{"width":{width},"height":{height},"depth":3}}],"annotations":[{{"class_id":0,"top":0,"left":0,"width":1,"height":1,"errors":[{{"code":"ERROR_BOUNDING_BOX_TOO_SMALL","message":"The height and width of the bounding box is too small."}}]}}]}},"bounding-box-metadata":{{"objects":[{{"confidence":1}}],"class-map":{{"0":"dot"}},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-18T09:12:44.123Z","job-name":"labeling-job/dots"}}}}"#
    )
}

/// Moto with the two images uploaded, and a manifest naming them (and one local path) in
/// `dir`; `None` when moto is not installed and the test may skip.
fn setup(dir: &Path) -> Option<(Moto, PathBuf)> {
    let moto = Moto::start()?;
    let mut big = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big.resize(usize::try_from(BIG_LEN).unwrap(), 0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = s3_client(&moto.endpoint()).await;
        put_objects(
            &client,
            BUCKET,
            &[(SMALL_KEY, PNG.to_vec()), (BIG_KEY, big)],
        )
        .await;
    });
    let manifest = dir.join("training_manifest_with_validation.json");
    let lines = [
        line(&format!("s3://{BUCKET}/{SMALL_KEY}"), 2, 2),
        line(&format!("s3://{BUCKET}/{BIG_KEY}"), 640, 480),
        line("local/not-s3.png", 10, 10),
    ];
    std::fs::write(&manifest, lines.join("\n") + "\n").unwrap();
    Some((moto, manifest))
}

/// `rekcheck report <manifest> --html-images <mode>` against moto: the page.
fn page(moto: &Moto, manifest: &Path, mode: &str, out: &Path) -> String {
    let o: Output = isolated_aws_env(
        Command::new(env!("CARGO_BIN_EXE_rekcheck"))
            .current_dir(root())
            .arg("report")
            .arg(manifest)
            .arg("--out")
            .arg(out)
            .args(["--html-images", mode, "--endpoint-url", &moto.endpoint()]),
    )
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

/// The `href`s of the page's `<image>` elements, HTML entities undone.
fn image_hrefs(page: &str) -> Vec<String> {
    page.split("<image ")
        .skip(1)
        .map(|tag| {
            let tag = &tag[..tag.find('>').unwrap()];
            let start = tag.find(" href=\"").unwrap() + " href=\"".len();
            let end = start + tag[start..].find('"').unwrap();
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// A plain HTTP/1.0 GET of a `http://127.0.0.1:<port>/...` URL: status and body.
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap();
    let slash = rest.find('/').unwrap();
    let host = format!("127.0.0.1:{}", &rest[..slash]);
    let mut s = TcpStream::connect(&host).unwrap();
    write!(
        s,
        "GET {} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        &rest[slash..]
    )
    .unwrap();
    let mut response = Vec::new();
    s.read_to_end(&mut response).unwrap();
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response[head_end + 4..].to_vec())
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = c
            .iter()
            .chain(std::iter::repeat(&0))
            .take(3)
            .fold(0u32, |n, b| (n << 8) | u32::from(*b));
        for k in 0..4 {
            out.push(if k <= c.len() {
                char::from(A[((n >> (18 - 6 * k)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// The Content-Security-Policy's `img-src` sources.
fn img_src(page: &str) -> &str {
    let start = page.find("img-src ").unwrap() + "img-src ".len();
    &page[start..start + page[start..].find(';').unwrap()]
}

#[test]
fn presign_links_each_s3_image_with_a_url_that_fetches_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some((moto, manifest)) = setup(dir.path()) else {
        return;
    };
    let page = page(&moto, &manifest, "presign", &dir.path().join("out"));
    let origin = format!("http://127.0.0.1:{}", moto.addr().port());
    let hrefs = image_hrefs(&page);
    assert_eq!(hrefs.len(), 2, "{hrefs:?}");
    let small = hrefs
        .iter()
        .find(|h| h.starts_with(&format!("{origin}/{BUCKET}/imgs/a%20small.png?")))
        .unwrap_or_else(|| panic!("{hrefs:?}"));
    assert!(small.contains("X-Amz-Signature="), "{small}");
    assert!(small.contains("X-Amz-Expires=43200"), "{small}");
    let (status, body) = http_get(small);
    assert_eq!(status, 200);
    assert_eq!(body, PNG, "the presigned URL serves the image");
    // The CSP lets the browser load images from that origin, and from nowhere else.
    assert_eq!(img_src(&page), format!("data: {origin}"));
    assert!(
        page.contains("2 images are drawn from S3 presigned URLs"),
        "{page}"
    );
    assert!(page.contains("Pixels not shown: its source-ref is not an s3://bucket/key URI."));
}

#[test]
fn embed_puts_a_thumbnail_of_each_small_image_in_the_page_and_says_why_not_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let Some((moto, manifest)) = setup(dir.path()) else {
        return;
    };
    let page = page(&moto, &manifest, "embed", &dir.path().join("out"));
    // The PNG is decoded and embedded as a JPEG thumbnail (base64 of FF D8 FF: `/9j/`), not
    // as its own bytes.
    let hrefs = image_hrefs(&page);
    assert_eq!(hrefs.len(), 1, "{hrefs:?}");
    assert!(
        hrefs[0].starts_with("data:image/jpeg;base64,/9j/"),
        "{hrefs:?}"
    );
    assert!(!page.contains(&base64(&PNG)));
    // The image over MAX_EMBED_BYTES is drawn without pixels, and the page says so.
    assert!(
        page.contains(&format!(
            "Pixels not shown: not embedded: {BIG_LEN} bytes, over the {} MiB limit per image.",
            rekcheck::MAX_EMBED_BYTES >> 20
        )),
        "{page}"
    );
    assert!(page.contains("Pixels not shown: its source-ref is not an s3://bucket/key URI."));
    assert!(
        page.contains("1 images are embedded as thumbnails of at most 320 px"),
        "{page}"
    );
    assert!(page.contains(" 2 are not (each says why under its drawing)."));
    // The page is portable: no URL to fetch anything from.
    assert_eq!(img_src(&page), "data:");
    assert!(!page.contains("X-Amz-"));
    assert!(!page.contains("127.0.0.1"));
}

#[test]
fn none_holds_no_url_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let Some((moto, manifest)) = setup(dir.path()) else {
        return;
    };
    let page = page(&moto, &manifest, "none", &dir.path().join("out"));
    assert!(image_hrefs(&page).is_empty());
    assert!(!page.contains("X-Amz-"));
    assert!(!page.contains("127.0.0.1"));
    assert!(!page.contains("Pixels not shown"));
    assert_eq!(img_src(&page), "data:");
    // The three images are drawn, frames and boxes.
    assert_eq!(page.matches("<rect class=\"frame\"").count(), 3);
}

//! Rekognition ARNs: projects, versions, datasets.

/// What an ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arn {
    /// `arn:aws:rekognition:REGION:ACCOUNT:project/NAME/TIMESTAMP`
    Project {
        /// The whole ARN.
        arn: String,
        /// The region.
        region: String,
        /// The project name.
        project: String,
    },
    /// `arn:aws:rekognition:REGION:ACCOUNT:project/NAME/version/VERSION/TIMESTAMP`
    Version {
        /// The whole ARN.
        arn: String,
        /// The region.
        region: String,
        /// The project name.
        project: String,
        /// The version name.
        version: String,
    },
}

/// Parses a project or version ARN; `None` for anything else.
///
/// # Example
///
/// ```
/// use rekcheck_locate::{Arn, parse_arn};
///
/// let arn = "arn:aws:rekognition:us-east-1:111122223333:project/widgets/version/widgets.2026-11-20T10.00.00/1690474772815";
/// let Some(Arn::Version { region, project, version, .. }) = parse_arn(arn) else {
///     panic!("a version ARN");
/// };
/// assert_eq!((region.as_str(), project.as_str()), ("us-east-1", "widgets"));
/// assert_eq!(version, "widgets.2026-11-20T10.00.00");
/// assert!(parse_arn("s3://bucket/key").is_none());
/// ```
pub fn parse_arn(s: &str) -> Option<Arn> {
    let mut parts = s.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn != "arn" || partition.is_empty() || service != "rekognition" || account.is_empty() {
        return None;
    }
    let segs: Vec<&str> = resource.split('/').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match segs.as_slice() {
        ["project", name, ts] if !name.is_empty() && digits(ts) => Some(Arn::Project {
            arn: s.to_owned(),
            region: region.to_owned(),
            project: (*name).to_owned(),
        }),
        ["project", name, "version", version, ts]
            if !name.is_empty() && !version.is_empty() && digits(ts) =>
        {
            Some(Arn::Version {
                arn: s.to_owned(),
                region: region.to_owned(),
                project: (*name).to_owned(),
                version: (*version).to_owned(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_version_arns() {
        assert_eq!(
            parse_arn(
                "arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815"
            ),
            Some(Arn::Project {
                arn: "arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815"
                    .into(),
                region: "us-east-1".into(),
                project: "my-project".into(),
            })
        );
        let v = parse_arn(
            "arn:aws:rekognition:eu-west-1:111122223333:project/p.1/version/p.1.2023-07-28T08.05.51/1690556751958",
        );
        assert!(
            matches!(v, Some(Arn::Version { ref version, ref region, .. }) if version == "p.1.2023-07-28T08.05.51" && region == "eu-west-1")
        );
        assert_eq!(parse_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(
            parse_arn("arn:aws:rekognition:us-east-1:1:project/p/dataset/train/1"),
            None
        );
        assert_eq!(parse_arn("s3://bucket/key"), None);
    }
}

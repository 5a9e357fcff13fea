//! `rekcheck schema --athena`: the tables of the table layout (`--layout tables`) as Athena
//! `CREATE EXTERNAL TABLE` statements, with partition projection.
//!
//! The column lists are the report's headers with a type each: `bigint` for counters that are
//! always written, `string` for text and for numbers that may be empty (Athena's OpenCSVSerDe
//! reads no empty value into a numeric column: cast them with `TRY_CAST(x AS bigint)`).

use std::fmt::Write as _;

use rekcheck::layout::SCHEMA_VERSION;

/// One table: its name, and its columns with their Athena types.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) columns: &'static [(&'static str, &'static str)],
}

const S: &str = "string";
const N: &str = "bigint";

/// Every table of the layout, in the order of `index.json`'s files; the columns are the CSV
/// headers (a unit test checks they match).
pub(crate) const TABLES: [Table; 6] = [
    Table {
        name: "issues",
        columns: &[
            ("project", S),
            ("version", S),
            ("dataset", S),
            ("manifest", S),
            ("line", S),
            ("source_ref", S),
            ("level", S),
            ("attribute", S),
            ("annotation", S),
            ("label", S),
            ("severity", S),
            ("code", S),
            ("message", S),
        ],
    },
    Table {
        name: "images",
        columns: &[
            ("project", S),
            ("version", S),
            ("dataset", S),
            ("manifest", S),
            ("line", N),
            ("source_ref", S),
            ("status", S),
            ("errors", N),
            ("warnings", N),
            ("labels", S),
            ("boxes", N),
            ("used", S),
        ],
    },
    Table {
        name: "summary",
        columns: &[
            ("project", S),
            ("version", S),
            ("dataset", S),
            ("manifest", S),
            ("lines", N),
            ("blank", N),
            ("unparsable", N),
            ("ok", N),
            ("warning", N),
            ("error", N),
            ("error_issues", N),
            ("warning_issues", N),
            ("rekognition_total", S),
            ("rekognition_valid", S),
            ("rekognition_invalid", S),
            ("rekognition_ignored", S),
            ("rekognition_agrees", S),
            ("verdict", S),
        ],
    },
    Table {
        name: "codes",
        columns: &[
            ("project", S),
            ("version", S),
            ("dataset", S),
            ("severity", S),
            ("code", S),
            ("issues", N),
            ("images", N),
            ("first_line", S),
            ("meaning", S),
            ("fix", S),
        ],
    },
    Table {
        name: "labels",
        columns: &[
            ("project", S),
            ("version", S),
            ("dataset", S),
            ("label", S),
            ("images", N),
            ("boxes", N),
            ("images_with_errors", N),
        ],
    },
    Table {
        name: "versions",
        columns: &[
            ("project", S),
            ("version", S),
            ("status", S),
            ("status_message", S),
            ("terminal_code", S),
            ("created", S),
            ("training_ended", S),
            ("lines", N),
            ("ok", N),
            ("warning", N),
            ("error", N),
            ("unparsable", N),
            ("report", S),
        ],
    },
];

/// The SQL of a single-quoted string literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The `CREATE EXTERNAL TABLE` statements of every table under `prefix` (`s3://bucket/path`,
/// with or without the trailing `/`), each table named `<table_prefix><table>`.
pub(crate) fn athena(prefix: &str, table_prefix: &str) -> String {
    let base = prefix.trim_end_matches('/');
    let mut out = format!(
        "-- rekcheck table layout, schema version {SCHEMA_VERSION} (`rekcheck report --layout tables --out {base}/`).\n\
         -- Partition projection, no crawler or MSCK REPAIR: project_key and version_key are injected,\n\
         -- so every query names them, e.g. WHERE project_key = 'my-project' AND version_key IN ('v1', 'v2').\n\
         -- They are the names percent-encoded as in the S3 keys (index.json's \"partition\"; A-Z a-z 0-9 - _\n\
         -- and a . that is not first stay, the empty name is ~); the project and version columns hold them as written.\n\
         -- OpenCSVSerDe reads no cell with a line break (use DuckDB for those) and no empty number:\n\
         -- the string columns that hold numbers may be empty (TRY_CAST(x AS bigint)). rekcheck doubles quotes\n\
         -- (RFC 4180) and escapes nothing; OpenCSVSerDe always has an escape character (\\), so a backslash\n\
         -- in a cell (a Windows path, a message) is dropped in Athena: DuckDB reads such cells as written.\n"
    );
    for table in &TABLES {
        let name = format!("{table_prefix}{}", table.name);
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(c, t)| format!("  `{c}` {t}"))
            .collect();
        let location = format!("{base}/{}/", table.name);
        let _ = write!(
            out,
            "\nCREATE EXTERNAL TABLE IF NOT EXISTS `{name}` (\n{}\n)\n\
             PARTITIONED BY (`project_key` string, `version_key` string)\n\
             ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n\
             WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\')\n\
             STORED AS TEXTFILE\n\
             LOCATION {}\n\
             TBLPROPERTIES (\n  'skip.header.line.count' = '1',\n  'rekcheck.schema_version' = '{SCHEMA_VERSION}',\n  \
             'projection.enabled' = 'true',\n  'projection.project_key.type' = 'injected',\n  \
             'projection.version_key.type' = 'injected',\n  \
             'storage.location.template' = {}\n);\n",
            columns.join(",\n"),
            quoted(&location),
            quoted(&format!(
                "{location}project_key=${{project_key}}/version_key=${{version_key}}/"
            )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rekcheck::analyze::{
        CODES_HEADER, IMAGES_HEADER, ISSUES_HEADER, LABELS_HEADER, SUMMARY_HEADER, VERSIONS_HEADER,
    };

    #[test]
    fn the_columns_are_the_csv_headers_in_order() {
        let headers = [
            ISSUES_HEADER,
            IMAGES_HEADER,
            SUMMARY_HEADER,
            CODES_HEADER,
            LABELS_HEADER,
            VERSIONS_HEADER,
        ];
        for (table, header) in TABLES.iter().zip(headers) {
            let names: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
            assert_eq!(names, header, "{}", table.name);
        }
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        let layout: Vec<&str> = rekcheck::layout::tables().map(|t| t.0).collect();
        assert_eq!(names, layout);
    }

    #[test]
    fn statements_name_every_table_with_projection_and_quote_the_prefix() {
        let sql = athena("s3://b/it's/", "rk_");
        assert_eq!(sql.matches("CREATE EXTERNAL TABLE").count(), 6);
        assert!(sql.contains("LOCATION 's3://b/it''s/issues/'"), "{sql}");
        assert!(sql.contains(
            "'storage.location.template' = 's3://b/it''s/versions/project_key=${project_key}/version_key=${version_key}/'"
        ));
        assert_eq!(sql.matches("'projection.enabled' = 'true'").count(), 6);
        assert!(sql.contains("`rk_labels`"));
        assert!(sql.contains("  `line` bigint,"));
    }
}

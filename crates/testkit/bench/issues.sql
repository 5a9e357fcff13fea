-- DuckDB contender: declared columns, one CSV row per issue at every level.
-- {manifest} and {out} are replaced by the bench command.
CREATE TEMP TABLE m AS SELECT * FROM read_json('{manifest}', format = 'newline_delimited', columns = {
  'source-ref': 'VARCHAR',
  'errors': 'STRUCT(code VARCHAR, message VARCHAR)[]',
  'warnings': 'STRUCT(code VARCHAR, message VARCHAR)[]',
  'bounding-box': 'STRUCT(annotations STRUCT(class_id BIGINT, errors STRUCT(code VARCHAR, message VARCHAR)[])[], errors STRUCT(code VARCHAR, message VARCHAR)[], warnings STRUCT(code VARCHAR, message VARCHAR)[])',
  'bounding-box-metadata': 'STRUCT(errors STRUCT(code VARCHAR, message VARCHAR)[])'
});
COPY (
  SELECT "source-ref", 'line' AS level, '' AS attribute, NULL AS annotation, 'error' AS severity, e.code, e.message
    FROM (SELECT "source-ref", unnest(errors) AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'line', '', NULL, 'warning', w.code, w.message
    FROM (SELECT "source-ref", unnest(warnings) AS w FROM m)
  UNION ALL
  SELECT "source-ref", 'attribute', 'bounding-box', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box".errors) AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'attribute', 'bounding-box', NULL, 'warning', w.code, w.message
    FROM (SELECT "source-ref", unnest("bounding-box".warnings) AS w FROM m)
  UNION ALL
  SELECT "source-ref", 'annotation', 'bounding-box', a.i - 1, 'error', e.code, e.message
    FROM (SELECT "source-ref", a, unnest(a.ann.errors) AS e
          FROM (SELECT "source-ref", unnest(list_transform("bounding-box".annotations, lambda x, i: {'ann': x, 'i': i})) AS a FROM m))
  UNION ALL
  SELECT "source-ref", 'metadata', 'bounding-box', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box-metadata".errors) AS e FROM m)
) TO '{out}' (HEADER false);

-- DuckDB contender for the `failed` scenario: declared columns for every attribute the
-- generator writes, one CSV row per issue in `errors`, `cl-errors` and `warnings` at every level.
-- {manifest} and {out} are replaced by the bench command.
CREATE TEMP TABLE m AS SELECT * FROM read_json('{manifest}', format = 'newline_delimited', columns = {
  'source-ref': 'VARCHAR',
  'errors': 'STRUCT(code VARCHAR, message VARCHAR)[]',
  'cl-errors': 'STRUCT(code VARCHAR, message VARCHAR)[]',
  'warnings': 'STRUCT(code VARCHAR, message VARCHAR)[]',
  'bounding-box': 'STRUCT(annotations STRUCT(errors STRUCT(code VARCHAR, message VARCHAR)[], "cl-errors" STRUCT(code VARCHAR, message VARCHAR)[], warnings STRUCT(code VARCHAR, message VARCHAR)[])[], errors STRUCT(code VARCHAR, message VARCHAR)[], "cl-errors" STRUCT(code VARCHAR, message VARCHAR)[], warnings STRUCT(code VARCHAR, message VARCHAR)[])',
  'bounding-box-metadata': 'STRUCT(errors STRUCT(code VARCHAR, message VARCHAR)[], "cl-errors" STRUCT(code VARCHAR, message VARCHAR)[], warnings STRUCT(code VARCHAR, message VARCHAR)[])',
  'sport-metadata': 'STRUCT(errors STRUCT(code VARCHAR, message VARCHAR)[], "cl-errors" STRUCT(code VARCHAR, message VARCHAR)[], warnings STRUCT(code VARCHAR, message VARCHAR)[])',
  'ball-metadata': 'STRUCT(errors STRUCT(code VARCHAR, message VARCHAR)[], "cl-errors" STRUCT(code VARCHAR, message VARCHAR)[], warnings STRUCT(code VARCHAR, message VARCHAR)[])',
  'indoor-metadata': 'STRUCT(errors STRUCT(code VARCHAR, message VARCHAR)[], "cl-errors" STRUCT(code VARCHAR, message VARCHAR)[], warnings STRUCT(code VARCHAR, message VARCHAR)[])'
});
COPY (
  SELECT "source-ref", 'line' AS level, '' AS attribute, NULL AS annotation, 'error' AS severity, e.code, e.message
    FROM (SELECT "source-ref", unnest("errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'line' AS level, '' AS attribute, NULL AS annotation, 'error' AS severity, e.code, e.message
    FROM (SELECT "source-ref", unnest("cl-errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'line' AS level, '' AS attribute, NULL AS annotation, 'warning' AS severity, e.code, e.message
    FROM (SELECT "source-ref", unnest("warnings") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'attribute', 'bounding-box', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box"."errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'attribute', 'bounding-box', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box"."cl-errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'attribute', 'bounding-box', NULL, 'warning', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box"."warnings") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'annotation', 'bounding-box', a.i - 1, 'error', e.code, e.message
    FROM (SELECT "source-ref", a, unnest(a.ann."errors") AS e
          FROM (SELECT "source-ref", unnest(list_transform("bounding-box".annotations, lambda x, i: {'ann': x, 'i': i})) AS a FROM m))
  UNION ALL
  SELECT "source-ref", 'annotation', 'bounding-box', a.i - 1, 'error', e.code, e.message
    FROM (SELECT "source-ref", a, unnest(a.ann."cl-errors") AS e
          FROM (SELECT "source-ref", unnest(list_transform("bounding-box".annotations, lambda x, i: {'ann': x, 'i': i})) AS a FROM m))
  UNION ALL
  SELECT "source-ref", 'annotation', 'bounding-box', a.i - 1, 'warning', e.code, e.message
    FROM (SELECT "source-ref", a, unnest(a.ann."warnings") AS e
          FROM (SELECT "source-ref", unnest(list_transform("bounding-box".annotations, lambda x, i: {'ann': x, 'i': i})) AS a FROM m))
  UNION ALL
  SELECT "source-ref", 'metadata', 'bounding-box', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box-metadata"."errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'bounding-box', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box-metadata"."cl-errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'bounding-box', NULL, 'warning', e.code, e.message
    FROM (SELECT "source-ref", unnest("bounding-box-metadata"."warnings") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'sport', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("sport-metadata"."errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'sport', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("sport-metadata"."cl-errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'sport', NULL, 'warning', e.code, e.message
    FROM (SELECT "source-ref", unnest("sport-metadata"."warnings") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'ball', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("ball-metadata"."errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'ball', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("ball-metadata"."cl-errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'ball', NULL, 'warning', e.code, e.message
    FROM (SELECT "source-ref", unnest("ball-metadata"."warnings") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'indoor', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("indoor-metadata"."errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'indoor', NULL, 'error', e.code, e.message
    FROM (SELECT "source-ref", unnest("indoor-metadata"."cl-errors") AS e FROM m)
  UNION ALL
  SELECT "source-ref", 'metadata', 'indoor', NULL, 'warning', e.code, e.message
    FROM (SELECT "source-ref", unnest("indoor-metadata"."warnings") AS e FROM m)
) TO '{out}' (HEADER false);

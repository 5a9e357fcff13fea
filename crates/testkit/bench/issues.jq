# One CSV row per issue at every level (line, attribute, annotation, metadata), like rekcheck's
# issues.csv: source_ref, level, attribute, annotation, severity, code, message.
def rows($s; $level; $attr; $ann):
  ((.errors // []) + (."cl-errors" // []) | .[] | [$s, $level, $attr, $ann, "error", .code, .message]),
  ((.warnings // []) + (."cl-warnings" // []) | .[] | [$s, $level, $attr, $ann, "warning", .code, .message]);
. as $l
| ($l["source-ref"] // "") as $s
| ( rows($s; "line"; ""; ""),
    ( $l | to_entries[]
      | select((.value | type) == "object" and .key != "source-ref")
      | .key as $k | .value as $v
      | if ($k | endswith("-metadata")) then
          ($v | rows($s; "metadata"; ($k | rtrimstr("-metadata")); ""))
        else
          ($v | rows($s; "attribute"; $k; "")),
          ( ($v.annotations // []) | to_entries[] | select((.value | type) == "object")
            | .key as $i | .value | rows($s; "annotation"; $k; ($i | tostring)) )
        end ) )
| @csv

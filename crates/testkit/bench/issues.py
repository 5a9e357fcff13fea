"""One CSV row per issue at every level, like rekcheck's issues.csv (the Python contender)."""
import csv
import json
import sys


def rows(obj, s, level, attr, ann, out):
    for key, sev in (("errors", "error"), ("cl-errors", "error"), ("warnings", "warning"), ("cl-warnings", "warning")):
        for item in obj.get(key) or []:
            out.writerow([s, level, attr, ann, sev, item.get("code"), item.get("message")])


def main():
    out = csv.writer(open(sys.argv[2], "w", newline=""))
    with open(sys.argv[1], "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            line = json.loads(raw)
            s = line.get("source-ref", "")
            rows(line, s, "line", "", "", out)
            for k, v in line.items():
                if not isinstance(v, dict) or k == "source-ref":
                    continue
                if k.endswith("-metadata"):
                    rows(v, s, "metadata", k[: -len("-metadata")], "", out)
                else:
                    rows(v, s, "attribute", k, "", out)
                    for i, a in enumerate(v.get("annotations") or []):
                        if isinstance(a, dict):
                            rows(a, s, "annotation", k, str(i), out)


main()

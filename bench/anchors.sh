# Sourced by the bench scripts: finds the shared anchors harness (FERRY_ANCHORS overrides) or exits.
ANCHORS="${FERRY_ANCHORS:-$HERE/../../shared/anchors}"
if [ ! -x "$ANCHORS/run.sh" ]; then
  echo "bench: the anchors harness is not at $ANCHORS (set FERRY_ANCHORS)" >&2
  exit 1
fi

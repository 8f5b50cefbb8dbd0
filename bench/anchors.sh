# Sourced by the bench scripts: finds the shared anchors harness (FERRY_ANCHORS overrides) or exits.
# Beside the checkout by default; from a linked work tree, beside its main checkout.
ANCHORS="${FERRY_ANCHORS:-$HERE/../../shared/anchors}"
if [ -z "${FERRY_ANCHORS:-}" ] && [ ! -x "$ANCHORS/run.sh" ]; then
  common="$(git -C "$HERE" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
  [ -n "$common" ] && ANCHORS="$(dirname "$common")/../shared/anchors"
fi
if [ ! -x "$ANCHORS/run.sh" ]; then
  echo "bench: the anchors harness is not at $ANCHORS (set FERRY_ANCHORS)" >&2
  exit 1
fi

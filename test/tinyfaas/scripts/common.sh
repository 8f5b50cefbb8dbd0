# Shared by the scripts below: where tinyFaaS's management service is (its default,
# localhost:8080; TINYFAAS_MANAGER moves it, as the tests do) and the tools a script needs.
manager="${TINYFAAS_MANAGER:-http://localhost:8080}"

require() {
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$tool is needed by this script but was not found" >&2
            exit 1
        fi
    done
}

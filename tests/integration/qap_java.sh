#!/usr/bin/env bash
# Compiles tests/java/QapJavaClient.java against the REngine and Rserve jars
# of the Rserve package and runs it against the front end (a scenario of
# qap_clients.sh: QAP_PORT and QAP_WORK come from there). Extra arguments
# (USER PASSWORD) are passed to the client.
set -uo pipefail
src=${OMCP_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
jars=${REngine_JARS:-/usr/lib/R/site-library/Rserve/java}
cp="$jars/REngine.jar:$jars/Rserve.jar"
if ! command -v javac >/dev/null; then
    echo "SKIP: javac is not installed (default-jdk-headless)"
    exit 77
fi
[ -f "$jars/Rserve.jar" ] || { echo "SKIP: no Rserve.jar in $jars"; exit 77; }
mkdir -p "$QAP_WORK/java"
javac -nowarn -cp "$cp" -d "$QAP_WORK/java" "$src/tests/java/QapJavaClient.java" ||
    { echo "FAIL: javac"; exit 1; }
exec java -cp "$cp:$QAP_WORK/java" QapJavaClient "$QAP_PORT" "$@"

#!/usr/bin/env bash
# Builds the AWS shape's Lambda package (one zip for every function) and the static files
# CloudFront serves from S3, prints the zip's size and times a cold start of each handler.
#   scripts/build.sh            SKIP_COLD_START=1 scripts/build.sh (no java, no DynamoDB Local)
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "build.sh: '$1' is missing: $2" >&2; exit 1; }
}
need node "install Node.js 20 or newer"
need npm "it comes with Node.js"
need zip "apt-get install zip"

[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build:tracker
npm run --silent build:dashboard
npx tsx scripts/build-lambda.ts

size=$(stat -c %s dist/lambda/liveinsight-lambda.zip)
if [ "$size" -gt 1048576 ]; then
  echo "build.sh: warning: the package is $((size / 1024)) KB, over the 1 MB aimed at" >&2
fi

if [ "${SKIP_COLD_START:-0}" = 1 ]; then
  echo "build.sh: cold start not measured (SKIP_COLD_START=1)"
elif ! command -v java >/dev/null 2>&1; then
  echo "build.sh: cold start not measured: DynamoDB Local needs java"
else
  npx tsx scripts/lambda-cold-start.ts 2>&1 | grep -v -i -e NodeVersionSupport -e 'node >=22' \
    -e 'versions published' -e 'upgrade to node' -e 'continue receiving' -e 'security updates' \
    -e 'a.co/' -e 'trace-warnings' -e '^$' || true
fi

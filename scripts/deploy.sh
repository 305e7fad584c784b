#!/usr/bin/env bash
# Deploys the AWS shape: builds the package (scripts/build.sh), runs terraform init, plan and
# apply in infra/terraform, uploads the static files to the bucket, and prints the URLs.
#   scripts/deploy.sh                 build, plan, apply, upload
#   scripts/deploy.sh --plan-only     build and plan, change nothing
#   scripts/deploy.sh --zip FILE      deploy this package instead of building one (a roll-back:
#                                     every deployed package is kept in dist/lambda/deployed/)
# The dashboard password: TF_VAR_admin_password (asked for when unset).
set -euo pipefail
cd "$(dirname "$0")/.."

plan_only=0
zip=""
while [ $# -gt 0 ]; do
  case "$1" in
    --plan-only) plan_only=1 ;;
    --zip) zip="${2:?--zip needs a file}"; shift ;;
    *) echo "deploy.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "deploy.sh: '$1' is missing: $2" >&2; exit 1; }
}
need terraform "install Terraform 1.5 or newer (https://developer.hashicorp.com/terraform/install)"
need aws "install the AWS CLI v2, used to upload the static files"
if ! aws sts get-caller-identity >/dev/null 2>&1; then
  echo "deploy.sh: no working AWS credentials (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)" >&2
  exit 1
fi

if [ -z "$zip" ]; then
  SKIP_COLD_START="${SKIP_COLD_START:-1}" scripts/build.sh
  zip="dist/lambda/liveinsight-lambda.zip"
fi
[ -f "$zip" ] || { echo "deploy.sh: no package at $zip" >&2; exit 1; }
zip_path="$(cd "$(dirname "$zip")" && pwd)/$(basename "$zip")"

if [ -z "${TF_VAR_admin_password:-}" ]; then
  read -r -s -p "Dashboard password (8+ characters): " TF_VAR_admin_password
  echo
  export TF_VAR_admin_password
fi

cd infra/terraform
terraform init -input=false
terraform plan -input=false -var "lambda_zip=$zip_path" -out=tfplan
if [ "$plan_only" = 1 ]; then
  echo "deploy.sh: plan only, nothing changed"
  exit 0
fi
terraform apply -input=false tfplan

bucket="$(terraform output -raw s3_bucket_name)"
aws s3 sync ../../dist/lambda/static "s3://$bucket/" --delete \
  --cache-control "public, max-age=3600"
mkdir -p ../../dist/lambda/deployed
cp "$zip_path" "../../dist/lambda/deployed/$(date -u +%Y%m%dT%H%M%SZ).zip"

echo
echo "  Dashboard: $(terraform output -raw cloudfront_url)/"
echo "  Tracker:   $(terraform output -raw cloudfront_url)/liveinsight.js"
echo "  API:       $(terraform output -raw api_gateway_url)"

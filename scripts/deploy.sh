#!/usr/bin/env bash
# Deploys the AWS shape: builds the package (scripts/build.sh), keeps it as a release, runs
# terraform init, plan and apply in infra/terraform, uploads the static files to the bucket,
# invalidates them in CloudFront, and prints the URLs.
#   scripts/deploy.sh                 build, plan, apply, upload
#   scripts/deploy.sh --plan-only     build and plan, change nothing
#   scripts/deploy.sh --zip FILE      deploy this package (and the static/ folder beside it)
#                                     instead of building one: a roll-back is
#                                     scripts/deploy.sh --zip releases/HASH/liveinsight-lambda.zip
# Every package deployed is kept in releases/HASH/ (HASH: the start of the zip's SHA-256) with
# the static files built with it, outside dist/, which each build wipes; releases/deployed.log
# lists what was deployed when, newest last.
# The dashboard password: TF_VAR_admin_password (asked for when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

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
need sha256sum "it comes with coreutils"
if ! aws sts get-caller-identity >/dev/null 2>&1; then
  echo "deploy.sh: no working AWS credentials (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)" >&2
  exit 1
fi

if [ -z "$zip" ]; then
  SKIP_COLD_START="${SKIP_COLD_START:-1}" scripts/build.sh
  zip="dist/lambda/liveinsight-lambda.zip"
fi
[ -f "$zip" ] || { echo "deploy.sh: no package at $zip" >&2; exit 1; }
static="$(dirname "$zip")/static"
[ -d "$static" ] || {
  echo "deploy.sh: no static files at $static (the files CloudFront serves with this package)" >&2
  exit 1
}

# The release: the package and its static files, named by the package's content, where no
# build reaches. Terraform is given this copy, so the path in its state stays valid.
hash="$(sha256sum "$zip" | cut -c1-16)"
release="$root/releases/$hash"
if [ ! -f "$release/liveinsight-lambda.zip" ]; then
  rm -rf "$release.tmp"
  mkdir -p "$release.tmp"
  cp "$zip" "$release.tmp/liveinsight-lambda.zip"
  cp -R "$static" "$release.tmp/static"
  rm -rf "$release"
  mv "$release.tmp" "$release"
fi
echo "deploy.sh: release $hash (releases/$hash/)"

if [ -z "${TF_VAR_admin_password:-}" ]; then
  read -r -s -p "Dashboard password (8+ characters): " TF_VAR_admin_password
  echo
  export TF_VAR_admin_password
fi

cd infra/terraform
terraform init -input=false
# The provider lock file pins the provider builds (and their checksums) this deploy used; it
# cannot be made without the registry, so the first deploy writes it (README, Deploy to AWS).
if ! git -C "$root" ls-files --error-unmatch infra/terraform/.terraform.lock.hcl >/dev/null 2>&1; then
  echo "deploy.sh: commit infra/terraform/.terraform.lock.hcl (terraform init wrote it): later deploys then install the same provider builds"
fi
terraform plan -input=false -var "lambda_zip=$release/liveinsight-lambda.zip" -out=tfplan
if [ "$plan_only" = 1 ]; then
  echo "deploy.sh: plan only, nothing changed"
  exit 0
fi
terraform apply -input=false tfplan
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $hash" >>"$root/releases/deployed.log"

bucket="$(terraform output -raw s3_bucket_name)"
aws s3 sync "$release/static" "s3://$bucket/" --delete \
  --cache-control "public, max-age=3600"
# CloudFront keeps what it cached for up to the hour the files are sent with: without this,
# the new pages (from the functions, not cached) would run the old scripts until then.
# A wildcard path counts as one of the month's 1,000 free invalidation paths.
distribution="$(terraform output -raw cloudfront_distribution_id)"
aws cloudfront create-invalidation --distribution-id "$distribution" \
  --paths '/assets/*' '/liveinsight.js' >/dev/null
echo "deploy.sh: invalidated /assets/* and /liveinsight.js in CloudFront ($distribution)"

echo
echo "  Dashboard: $(terraform output -raw cloudfront_url)/"
echo "  Tracker:   $(terraform output -raw cloudfront_url)/liveinsight.js"
echo "  Collector: $(terraform output -raw collector_url) (the snippet's data-api)"
echo "  API:       $(terraform output -raw api_gateway_url)"

#!/usr/bin/env bash
# Tears the AWS shape down: everything infra/terraform created, the tables and their data
# included (point-in-time backups go with them). Asks first unless --yes.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v terraform >/dev/null 2>&1 || { echo "destroy.sh: 'terraform' is missing" >&2; exit 1; }
command -v aws >/dev/null 2>&1 || { echo "destroy.sh: 'aws' (the AWS CLI) is missing" >&2; exit 1; }
aws sts get-caller-identity >/dev/null 2>&1 || {
  echo "destroy.sh: no working AWS credentials" >&2
  exit 1
}
cd infra/terraform
[ -d .terraform ] || terraform init -input=false
args=(-input=false -var "admin_password=${TF_VAR_admin_password:-unused-on-destroy}")
[ "${1:-}" = "--yes" ] && args+=(-auto-approve)
terraform destroy "${args[@]}"

#!/usr/bin/env bash
# Tears the AWS shape down: everything infra/terraform created. The DynamoDB tables hold every
# site's history and are deletion-protected (variable table_deletion_protection), so a plain
# destroy is refused here rather than stopping at the tables after deleting the rest:
#   scripts/destroy.sh --delete-data         turn the tables' protection off (a targeted apply,
#                                            shown and asked for), then destroy everything
#   scripts/destroy.sh --delete-data --yes   the same without asking
# DynamoDB keeps a system backup of each deleted table for 35 days (point-in-time recovery is on).
set -euo pipefail
cd "$(dirname "$0")/.."

delete_data=0
yes=0
while [ $# -gt 0 ]; do
  case "$1" in
    --delete-data) delete_data=1 ;;
    --yes) yes=1 ;;
    *) echo "destroy.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

command -v terraform >/dev/null 2>&1 || { echo "destroy.sh: 'terraform' is missing" >&2; exit 1; }
command -v aws >/dev/null 2>&1 || { echo "destroy.sh: 'aws' (the AWS CLI) is missing" >&2; exit 1; }
aws sts get-caller-identity >/dev/null 2>&1 || {
  echo "destroy.sh: no working AWS credentials" >&2
  exit 1
}
if [ "$delete_data" != 1 ]; then
  cat >&2 <<'MSG'
destroy.sh: nothing destroyed. The DynamoDB tables (every site's history) are deletion-protected,
so a destroy would delete everything else and then stop at them. To delete them deliberately:
  scripts/destroy.sh --delete-data
which applies table_deletion_protection=false to the tables (shown and asked for), then destroys
everything. By hand: terraform -chdir=infra/terraform apply -var table_deletion_protection=false
(then terraform destroy with the same -var).
MSG
  exit 1
fi

cd infra/terraform
[ -d .terraform ] || terraform init -input=false
# The package is not read on destroy (lambda.tf hashes it only when it is there).
args=(-input=false -var "admin_password=${TF_VAR_admin_password:-unused-on-destroy}"
  -var "table_deletion_protection=false")
[ "$yes" = 1 ] && args+=(-auto-approve)
targets=()
for table in events sessions state; do targets+=(-target="aws_dynamodb_table.$table"); done
terraform apply "${args[@]}" "${targets[@]}"
if ! terraform destroy "${args[@]}"; then
  echo "destroy.sh: the destroy did not finish; the tables' deletion protection is off now" \
    "(scripts/deploy.sh turns it back on)" >&2
  exit 1
fi

# Only requests that came through CloudFront are served. CloudFront adds X-Origin-Verify with
# a secret to every request it forwards to API Gateway (an origin custom header, static.tf:
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html),
# and the functions answer 403 to any request without one they accept
# (src/http/origin-check.ts). Otherwise API Gateway's own URL serves anyone who skips
# CloudFront and its WAF, and with TRUST_PROXY=2 such a caller writes its own address into
# X-Forwarded-For (a new one per password guess) and its own country.
#
# One secret per name in var.origin_secret_names; CloudFront sends the first one's, the
# functions accept them all, so a rotation is three applies that each change one side
# (README, Operations). The secrets are made here, from uuid() (crypto/rand, 122 random bits
# each, two to a secret) kept by ignore_changes, rather than by the random provider's
# random_password: only the aws provider is configured, and another provider is another
# download for `terraform init` and one more schema for the offline check. Like the admin
# password, they are in the state, which is therefore as secret as they are.

resource "terraform_data" "origin_secret" {
  for_each = toset(var.origin_secret_names)
  input    = "${replace(uuid(), "-", "")}${replace(uuid(), "-", "")}"
  lifecycle {
    ignore_changes = [input]
  }
}

locals {
  origin_secret_header = "X-Origin-Verify"
  # sensitive(): terraform_data keeps no mark on its output, and a plan would print it.
  origin_secret_sent = sensitive(terraform_data.origin_secret[var.origin_secret_names[0]].output)
  # Sorted, so that putting the other name first (the rotation's second step) changes what
  # CloudFront sends and not what the functions accept.
  origin_secrets_accepted = sensitive(join("\n", sort([for s in terraform_data.origin_secret : s.output])))
}

resource "aws_ssm_parameter" "origin_secrets" {
  name  = "/${var.project_name}/${var.environment}/origin-secrets"
  type  = "SecureString"
  value = local.origin_secrets_accepted
}

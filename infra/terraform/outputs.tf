output "cloudfront_url" {
  description = "The dashboard, the API and the tracker, on one origin."
  value       = local.public_origin
}

output "collector_url" {
  description = "Where the tracker sends events: the snippet's data-api (the dashboard shows it). CloudFront's origin when collector_door is \"edge\"."
  value       = local.collector_direct ? local.collector_endpoint : local.public_origin
}

output "api_gateway_url" {
  value = aws_api_gateway_stage.app.invoke_url
}

output "s3_bucket_name" {
  value = aws_s3_bucket.static.bucket
}

output "events_table" {
  value = aws_dynamodb_table.events.name
}

output "sessions_table" {
  value = aws_dynamodb_table.sessions.name
}

output "state_table" {
  value = aws_dynamodb_table.state.name
}

output "rollup_failures_bucket" {
  value = aws_s3_bucket.rollup_failures.bucket
}

output "function_names" {
  value = { for k, f in aws_lambda_function.functions : k => f.function_name }
}

output "acm_validation_records" {
  description = "With a custom domain: the DNS records (CNAME) that validate its certificate; Terraform writes them itself when route53_zone_id is set."
  value = [
    for option in flatten(aws_acm_certificate.domain[*].domain_validation_options) : {
      name  = option.resource_record_name
      type  = option.resource_record_type
      value = option.resource_record_value
    }
  ]
}

output "cloudfront_distribution_id" {
  description = "The distribution scripts/deploy.sh invalidates after uploading the static files."
  value       = aws_cloudfront_distribution.app.id
}
